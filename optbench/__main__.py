import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command itself is being imported
    print("optbench: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
