from ci_tags.cli import console

console()
