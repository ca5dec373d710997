import sys

from skinseg.cli import main

sys.exit(main())
