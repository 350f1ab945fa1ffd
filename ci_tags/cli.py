"""The ``ci-tags`` command: root parser, the table of subcommands, and the mapping of errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from ci_tags import __version__
from ci_tags.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput, CiTagsError

if TYPE_CHECKING:
    from ci_tags.output import Output
    from ci_tags.output.result import Result

# the context, the output and the option declarations (dataclasses, json, logging) are imported once a command
# runs: ``--version`` stays quick

# name -> (module in ci_tags.commands, talks to registries, one-line help). Each module has an Options dataclass
# whose fields declare its flags (ci_tags/flags.py makes the parser and the options from it), run(ctx, options) ->
# a result (ci_tags/output/result.py) that the output renders, and may have EXAMPLES, shown under "examples:" by
# its --help. Only the module of the command being run is imported.
COMMANDS: dict[str, tuple[str, bool, str]] = {
    "slug": ("slug", False, "print a branch name as a valid tag, as GitLab's CI_COMMIT_REF_SLUG"),
    "inspect": ("inspect", True, "show an image's digest, media type, size, platforms, created time and labels"),
    "tags": ("tags", True, "list the tags of a repository"),
    "retag": ("retag", True, "copy an image to another tag by metadata alone"),
    "untag": ("untag", True, "remove tags; every other tag, also one sharing the digest, keeps its image"),
    "hash": ("hash", True, "print each image's content tag (a hash of everything that decides its build)"),
    "plan": ("plan", True, "early job: reuse present images by metadata copy, plan builds for the rest"),
    "build": ("build", True, "build one image for one architecture and push its content and pipeline tags"),
    "manifest": ("manifest", True, "assemble a multi-arch image's index from its per-arch images"),
    "publish": ("publish", True, "final job: move latest (and other publish tags) to this pipeline's images"),
    "janitor": ("janitor", True, "early job: remove expired pipeline and content tags, never one it should keep"),
    "prune": ("prune", True, "remove one tag from every repository of a namespace (Docker Hub, GitLab, OCI)"),
    "promote": ("promote", True, "copy builds to the release tags a reviewed file names; conflicts stop everything"),
    "sync": ("sync", True, "copy images to revisioned tags (<track>-<N>) when their label changed, and static tags"),
    "prepare": ("prepare", True, "TripleO ContainerImagePrepare: tags from labels, copies to the push destination"),
}


class UsageError(Exception):
    """The command line does not parse; argparse's message, raised instead of exiting."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # raised, not exited, so that main() can also write the --json error document
        raise UsageError(self, message)


_REGISTRY = "registry."  # the registry options' names in the parsed command line


def common_options() -> Parser:
    """Options every subcommand takes; also accepted before the subcommand name."""
    from ci_tags.flags import register
    from ci_tags.output.options import OutputOptions

    common = Parser(add_help=False)
    # suppressed defaults: a command's parser must not reset what the root parser already set (ci-tags --json tags)
    register(common, OutputOptions, suppress_defaults=True)
    return common


def registry_options() -> Parser:
    """Options of every subcommand that talks to a registry."""
    from ci_tags.context import RegistryOptions
    from ci_tags.flags import register

    opts = Parser(add_help=False)
    register(opts, RegistryOptions, prefix=_REGISTRY)
    return opts


def _password_from(stdin: TextIO, given: str | None) -> str:
    """--password-stdin: the first line of standard input, without its line ending (as docker login reads it)."""
    if given:
        raise BadInput("--password and --password-stdin exclude each other", hint="give the password one way")
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("--password-stdin read an empty password")
    return password


def build_parser(selected: str | None = None, *, listing: bool = False) -> argparse.ArgumentParser:
    """The root parser with the ``selected`` command's parser, its module imported to add its arguments; the
    other commands' parsers only when none is selected or ``listing`` (the root's --help lists them all)."""
    from ci_tags.flags import add_version, register
    from ci_tags.output.options import OutputOptions

    parser = Parser(prog="ci-tags", description="Manage container image tags from CI pipelines.",
                    epilog="Run 'ci-tags COMMAND --help' for a command's options and examples.")
    add_version(parser, f"ci-tags {__version__}")
    register(parser, OutputOptions)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common, registry = common_options(), registry_options()
    for name, (module, remote, text) in COMMANDS.items():
        if selected in COMMANDS and name != selected and not listing:
            continue  # only the chosen command's parser is built (issue 15: start-up of one-shot commands)
        parents = [common, registry] if remote else [common]
        cmd = sub.add_parser(name, parents=parents, help=text, description=text,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == selected:
            command = importlib.import_module(f"ci_tags.commands.{module}")
            register(cmd, command.Options)
            examples = getattr(command, "EXAMPLES", "")
            if examples:
                cmd.epilog = "examples:\n" + examples.strip("\n")
    return parser


def console() -> NoReturn:
    """The ``ci-tags`` program: :func:`main`, its output flushed, then out of the process without the
    interpreter's teardown (clearing every module and object: about 20 ms, a sixth of a one-shot retag). Every
    file, connection, thread pool and temporary folder is closed by then (each in a ``with`` or ``finally``), so
    nothing is left for the teardown to do. A bug's traceback (``--debug``) and ``--help`` still leave the usual
    way."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a reader that went away (ci-tags tags x | head -1): as the interpreter would
        sys.exit(code)
    os._exit(code)


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # fast path: no parser, no command modules
        (stdout or sys.stdout).write(f"ci-tags {__version__}\n")
        return 0
    from ci_tags.output import Output

    env = dict(os.environ if env is None else env)
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected == "slug":
        from ci_tags.commands.slug import branch_argv

        argv = branch_argv(argv)
    # "ci-tags --help retag": the root's help (argparse acts on --help where it meets it), listing every command
    listing = selected is not None and any(a in ("-h", "--help") for a in argv[: argv.index(selected)])
    parser = build_parser(selected, listing=listing)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        exc.parser.print_usage(stderr or sys.stderr)
        options = argv[: argv.index("--")] if "--" in argv else argv
        bad = Output(json_mode="--json" in options, stdout=stdout, stderr=stderr, env=env)
        bad.command = selected if selected in COMMANDS else None
        bad.stderr.write(f"{exc.parser.prog}: error: {exc.message}\n")
        bad.failed("usage", exc.message, EXIT_BAD_INPUT)
        bad.close()
        return EXIT_BAD_INPUT
    out = Output(json_mode=args.json, stdout=stdout, stderr=stderr, env=env)
    out.command = args.command
    if args.debug or env.get("CI_TAGS_DEBUG", "").lower() in ("1", "true", "yes"):
        out.enable_debug()
    return _run(args, env, out, stdin or sys.stdin)


def _run(args: argparse.Namespace, env: dict[str, str], out: Output, stdin: TextIO) -> int:
    """Run the parsed command; map its errors to exit codes (and to the ``error`` of --json)."""
    from dataclasses import replace

    from ci_tags.context import Context, RegistryOptions
    from ci_tags.flags import from_args
    from ci_tags.output import render

    ctx = Context(env=env, out=out)
    module_name, remote, _ = COMMANDS[args.command]
    module = importlib.import_module(f"ci_tags.commands.{module_name}")
    try:
        registry = from_args(RegistryOptions, args, prefix=_REGISTRY) if remote else RegistryOptions()
        if registry.password_stdin:
            registry = replace(registry, password=_password_from(stdin, registry.password))
        ctx.registry = registry
        result: Result = module.run(ctx, from_args(module.Options, args))
        return render(result, out, module.RENDERERS)
    except CiTagsError as exc:
        out.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        out.stderr.write("ci-tags: interrupted\n")
        out.failed("interrupted", "interrupted", 130)
        return 130
    except Exception as exc:  # a bug: say so in one line, with the traceback only under --debug
        if args.debug:
            raise
        out.stderr.write(f"ci-tags: internal error: {type(exc).__name__} (run with --debug for details)\n")
        out.failed("internal", f"internal error: {type(exc).__name__}", EXIT_FAILED)
        return EXIT_FAILED
    finally:
        ctx.close()
        out.close()
