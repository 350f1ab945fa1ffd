"""Help texts that several commands' options share, written once; imports nothing, so a command that needs one
of them loads no more than it."""

CONFIG_HELP = "the image set (default: ci-tags.yml)"
NO_REFERRERS_HELP = "copy the image alone: not its signatures, attestations, SBOMs and other referrers"
