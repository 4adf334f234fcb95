"""How Celery's soft time limit reaches a task body as the project's Interrupted, and leaves it."""

import ast
import inspect
import os
import signal

import pytest
from billiard import pool
from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery

from pipeline.errors import PermanentError
from pipeline.sandbox import Interrupted, deadline
from workers import tasks
from workers.containment import ContainedTask

app = Celery("interrupt-test")


@pytest.fixture()
def prefork_child_handler():
    """This process as a billiard pool child sees it: SIGUSR1 is the soft time limit."""
    previous = signal.signal(pool.SIG_SOFT_TIMEOUT, pool.soft_timeout_sighandler)
    try:
        yield
    finally:
        signal.signal(pool.SIG_SOFT_TIMEOUT, previous)


def soft_limit_now() -> None:
    os.kill(os.getpid(), pool.SIG_SOFT_TIMEOUT)


def test_the_body_sees_interrupted_which_no_except_exception_swallows(prefork_child_handler):
    seen = []

    @app.task(base=ContainedTask)
    def careless() -> str:
        try:
            try:
                soft_limit_now()
            except Exception:  # a service's catch-all for bugs
                seen.append("swallowed")
        except Interrupted:
            seen.append("interrupted")
        return "done"

    assert careless() == "done"
    assert seen == ["interrupted"]
    assert signal.getsignal(pool.SIG_SOFT_TIMEOUT) is pool.soft_timeout_sighandler


def test_an_interrupt_the_body_leaves_alone_is_celerys_soft_limit_again(prefork_child_handler):
    @app.task(base=ContainedTask)
    def unaware() -> None:
        soft_limit_now()

    with pytest.raises(SoftTimeLimitExceeded):
        unaware()
    assert signal.getsignal(pool.SIG_SOFT_TIMEOUT) is pool.soft_timeout_sighandler


def test_outside_a_pool_child_the_signal_is_left_alone():
    @app.task(base=ContainedTask)
    def plain() -> object:
        return signal.getsignal(pool.SIG_SOFT_TIMEOUT)

    before = signal.getsignal(pool.SIG_SOFT_TIMEOUT)
    assert plain() is before


def test_an_interrupt_while_decoding_is_a_decode_timeout():
    with pytest.raises(PermanentError) as info, deadline(30, name="SLOW.3_front_1.tif"):
        raise Interrupted("the task's soft time limit passed")
    assert info.value.code == "DECODE_TIMEOUT"


def test_every_task_is_contained_and_its_body_short():
    names = {
        "process_scan",
        "publish_record",
        "index_record",
        "nightly_backlog",
        "finish_batches",
        "fixity_sample",
    }
    for name in names:
        task = getattr(tasks, name)
        assert isinstance(task, ContainedTask), name
        assert task.name == f"sohoa.{name}"
        function = ast.parse(inspect.getsource(task.run)).body[0]
        assert isinstance(function, ast.FunctionDef)
        body = function.body[1:]  # after the docstring
        lines = (body[-1].end_lineno or 0) - body[0].lineno + 1
        assert lines <= 20, f"{name}: {lines} lines"
