"""
What the tests do when a real part they need is missing (the Codex CLI,
llama.cpp, redis-server): outside CI, skip with a banner on stderr, once
per part; under CI (C{CI=true}), fail, since CI must run them all.
"""

import os
import sys
from typing import Any, NoReturn

_warned: set[str] = set()


def inCI() -> bool:
    return os.environ.get("CI") == "true"


def missing(case: Any, part: str, why: str, banner: str, skipReason: str) -> NoReturn:
    """
    Skip or fail C{case} for want of C{part}.

    @param why: what is missing, for the CI failure.
    @param banner: the loud how-to-install message.
    """
    from twisted.trial.unittest import SkipTest

    if inCI():
        case.fail("CI=true but {}: the {} tests must run in CI.\n{}".format(why, part, banner))
    if part not in _warned:
        _warned.add(part)
        sys.stderr.write(banner)
    raise SkipTest(skipReason)
