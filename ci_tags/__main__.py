import sys

from ci_tags.cli import main

sys.exit(main())
