"""`dolma [-c CONFIG] <command> [--dotted.key value ...]`: dispatch to one thin module per command."""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType

from dolma_py.errors import DolmaError

COMMANDS: dict[str, str] = {
    "tag": "dolma_py.cli.tag",
    "dedupe": "dolma_py.cli.dedupe",
    "mix": "dolma_py.cli.mix",
    "stat": "dolma_py.cli.stat",
    "report": "dolma_py.cli.pipeline_report",
    "tokens": "dolma_py.cli.tokens",
    "curriculum": "dolma_py.cli.curriculum",
    "train": "dolma_py.cli.train",
    "soup": "dolma_py.cli.soup",
    "consolidate": "dolma_py.cli.consolidate",
    "ablate": "dolma_py.cli.ablate",
    "ladder": "dolma_py.cli.ladder",
    "list": "dolma_py.cli.list_taggers",
    "quickstart": "dolma_py.cli.quickstart",
    "warc": "dolma_py.cli.warc",
}
"""Command name -> module defining `SUMMARY`, `CONFIG` (a dataclass schema) and `run(config) -> int`,
or `main(argv) -> int` when the command takes positional arguments; optionally `WORKER_MODULES`, the modules
of its unit functions, which local pool workers import once (see `_start_workers`)."""

USAGE = "usage: dolma [-c CONFIG] <command> [--key value ...]   (dolma <command> --help for its options)"


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def _print_overview() -> None:
    print(USAGE)
    print("\ncommands:")
    for name in COMMANDS:
        print(f"  {name:<12} {_command_module(name).SUMMARY}")


def _print_command_help(name: str, module: ModuleType) -> None:
    from dolma_py.config.loader import describe_fields

    print(f"usage: dolma [-c CONFIG] {name} [--key value ...]\n\n{module.SUMMARY}\n")
    print("options (config keys; nested keys are dotted, e.g. --work_dir.output):")
    for key, type_name, default, help_text in describe_fields(module.CONFIG):
        print(f"  --{key}  ({type_name}, default: {default})\n      {help_text}")


def _printing_help(print_help: Callable[[], None]) -> None:
    """Print help; a reader that closes early (`dolma tag --help | head`) is not an error. Only here: a broken pipe
    anywhere else (a lost worker's connection) is a real failure."""
    try:
        print_help()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush does not raise


def _split_config_flag(argv: list[str]) -> tuple[str | None, list[str]]:
    """Pull `-c/--config PATH` from anywhere in argv."""
    config_path = None
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-c", "--config"):
            if i + 1 >= len(argv):
                raise DolmaError(f"{argv[i]} needs a file path")
            config_path = argv[i + 1]
            i += 2
            continue
        rest.append(argv[i])
        i += 1
    return config_path, rest


def _disk_full(err: OSError) -> bool:
    """ENOSPC or EDQUOT, whether from Python or as the message of an error from the Rust core."""
    return err.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(err)


def _start_workers(module: ModuleType, config: object) -> None:
    """Start the worker processes' server as soon as the config says a local pool will run, importing the modules
    the command names in `WORKER_MODULES`, so that their imports overlap the driver's own."""
    from dolma_py.config.schema import ExecConfig

    if hasattr(module, "WORKER_MODULES") and isinstance(config, ExecConfig) and config.uses_local_pool:
        from dolma_py.exec.executors import start_forkserver

        start_forkserver(module.WORKER_MODULES)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `dolma` console script; returns the process exit code."""
    # Our stages parallelise with processes and never call BLAS, whose idle threads would otherwise busy-wait
    # on every core in every process that imports NumPy (measured at ~5% of a dedupe run's CPU time).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        config_path, argv = _split_config_flag(argv)
        if not argv or argv[0] in ("-h", "--help"):
            _printing_help(_print_overview)
            return 0 if argv else 2
        name, args = argv[0], argv[1:]
        if name not in COMMANDS:
            raise DolmaError(f"unknown command {name!r}; commands: {', '.join(COMMANDS)}")
        module = _command_module(name)
        if "-h" in args or "--help" in args:
            _printing_help(lambda: _print_command_help(name, module))
            return 0
        if hasattr(module, "main"):  # commands with positional arguments (e.g. `curriculum plan SPEC`) parse their own
            return module.main(args)
        from dolma_py.config.loader import load_config, parse_overrides

        config = load_config(module.CONFIG, config_path, parse_overrides(module.CONFIG, args))
        _start_workers(module, config)
        from dolma_py.exec.lenient import lenient_run

        with lenient_run(config):  # every run summary names the options that keep or drop data on bad input
            return module.run(config)
    except DolmaError as err:
        print(f"dolma: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if not _disk_full(err):
            raise
        print(f"dolma: error: disk full ({err}); outputs appear only when complete, so nothing half-written is "
              "visible: free some space and rerun to resume", file=sys.stderr)
        return 1
    except Exception as err:
        if not type(err).__module__.startswith(("botocore", "boto3", "s3transfer")):
            raise
        print(f"dolma: error: an S3 request failed ({type(err).__name__}: {err}); completed outputs are kept and "
              "a rerun resumes", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dolma: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
