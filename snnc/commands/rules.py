"""The diagnostic rules of the snnc command line (snnc/cli.py, snnc/commands).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "CLI-DATA-READ",
        "a data file (--data, --labels, --calib) cannot be read as plain arrays",
        "Data files are read by snnc/npz.py, never by unpickling (which runs code from the file): "
        ".npz archives and .npy files of numbers, or of structured arrays of numeric fields (event "
        "recordings). Object arrays, other formats, damaged archives and headers declaring more "
        "than the file holds or than the memory limit are refused before anything is allocated. "
        "Save plain numeric arrays: np.savez(path, x=array).",
    ),
    Rule(
        "CLI-DATA-KEY",
        "no array in the --data archive matches the graph input",
        "The array for an input is taken by the input's name, else the key 'x', else the only "
        "array in the archive. The message lists the keys found; rename the array to the input's "
        "name (shown by `snnc inspect`).",
    ),
    Rule(
        "CLI-LIMIT",
        "a resource limit setting is malformed",
        "The memory and work limits (snnc/limits.py) come from --max-memory and --max-work, or the "
        "environment variables SNNC_MAX_MEMORY and SNNC_MAX_WORK. A memory limit is a positive "
        "number of bytes, optionally with a unit (8GiB, 500MB); a work limit a positive number "
        "(1e14). Fix or unset the value.",
    ),
    Rule(
        "CLI-OUTPUT-WRITE",
        "the -o output file cannot be written",
        "The results could not be written (no permission, disk full, or the path is a directory). "
        "Nothing was left behind: results go to a temporary file that replaces the target only "
        "when complete. Choose a writable path.",
    ),
    Rule(
        "CLI-EVENTS",
        "event recordings cannot be binned into frames for the model",
        "--data may hold event-camera recordings in tonic's layout: an .npy of one structured array "
        "with fields x, y, t, p, or an .npz of one per sample. They are binned with tonic's ToFrame "
        "into [T, B, P, H, W] for a model whose input is (P, H, W) ((P, W) without y), with exactly "
        "one of --n-bins N (N frames of equal time per recording) or --time-bin DT (frames of DT in "
        "the unit of t). Fields must be finite numbers with integer coordinates; the frames of one "
        "file must fit in memory, and tonic's int16 frames hold at most 32,767 events per pixel and "
        "bin. The message says which; events outside the sensor or the time windows are not errors "
        "but are counted on stderr.",
        "tonic 1.7 tonic/functional/to_frame.py (int16 frames), tonic/slicers.py (windows)",
    ),
)
