"""``@ladder.step``: a function whose calls inside a pipeline become recorded, cached DAG nodes.

Outside a pipeline a step is its plain function: ``load("x")`` runs at once and
returns the value, with nothing recorded and nothing cached. That keeps steps
testable and usable in notebooks.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from ladder.errors import PipelineDefinitionError
from ladder.pipelines.dag import current_builder
from ladder.pipelines.params import resolved_hints

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StepOptions:
    """How a step runs: ``retries`` extra attempts after a failure, the first one
    ``retry_delay`` seconds later and each next one twice as late; ``cache=False``
    runs it every time."""

    retries: int = 0
    retry_delay: float = 1.0
    cache: bool = True

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2, 3, …): exponential backoff."""
        return float(self.retry_delay * 2 ** max(attempt - 2, 0))


class Step:
    """A pipeline step. Call it inside a ``@ladder.pipeline`` function to add it to the DAG."""

    def __init__(
        self,
        function: Callable[..., Any],
        name: str | None = None,
        options: StepOptions | None = None,
        outputs: int | Sequence[str] | None = None,
    ) -> None:
        if not callable(function) or not hasattr(function, "__code__"):
            raise PipelineDefinitionError(
                f"@step: expected a function, got {type(function).__name__}"
            )
        self.function = function
        self.name = name or function.__name__
        if not self.name.isidentifier():
            raise PipelineDefinitionError(
                f"step name {self.name!r}: expected a Python identifier (letters, digits, _)"
            )
        self.options = options or StepOptions()
        if not isinstance(self.options.retries, int) or self.options.retries < 0:
            raise PipelineDefinitionError(
                f"step {self.name!r}: retries must be an integer >= 0, got {self.options.retries!r}"
            )
        if self.options.retry_delay < 0:
            raise PipelineDefinitionError(
                f"step {self.name!r}: retry_delay must be >= 0 seconds, "
                f"got {self.options.retry_delay!r}"
            )
        self.signature = inspect.signature(function)
        self._hints: dict[str, Any] | None = None
        self.output_names, self.output_hints = self._outputs(outputs)
        functools.update_wrapper(self, function)

    def __repr__(self) -> str:
        return f"<Step {self.name}{self.signature}>"

    @property
    def hints(self) -> dict[str, Any]:
        if self._hints is None:
            self._hints = resolved_hints(self.function)
        return self._hints

    def _outputs(
        self, outputs: int | Sequence[str] | None
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        returned = self.hints.get("return", None)
        tuple_args: tuple[Any, ...] = ()
        if typing.get_origin(returned) is tuple:
            args = typing.get_args(returned)
            if len(args) >= 2 and Ellipsis not in args:
                tuple_args = args
        if outputs is None:
            if tuple_args:
                return tuple(f"output_{i}" for i in range(len(tuple_args))), tuple_args
            return ("output",), (returned,)
        if isinstance(outputs, int) and not isinstance(outputs, bool):
            if outputs < 1:
                raise PipelineDefinitionError(
                    f"step {self.name!r}: outputs must be >= 1, got {outputs}"
                )
            names: tuple[str, ...] = (
                ("output",) if outputs == 1 else tuple(f"output_{i}" for i in range(outputs))
            )
        elif isinstance(outputs, Sequence) and not isinstance(outputs, str):
            names = tuple(outputs)
            if (
                not names
                or len(set(names)) != len(names)
                or not all(isinstance(n, str) and n.isidentifier() for n in names)
            ):
                raise PipelineDefinitionError(
                    f"step {self.name!r}: outputs must be distinct identifiers, got {outputs!r}"
                )
        else:
            raise PipelineDefinitionError(
                f"step {self.name!r}: outputs must be a count or a list of names, got {outputs!r}"
            )
        if len(names) == 1:
            return names, (returned,)
        hints = tuple_args if len(tuple_args) == len(names) else (None,) * len(names)
        return names, hints

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_builder()
        if builder is None:
            return self.function(*args, **kwargs)
        return builder.add(self, args, kwargs)


@overload
def step(function: F) -> Step: ...


@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
    cache: bool = True,
    outputs: int | Sequence[str] | None = None,
) -> Callable[[F], Step]: ...


def step(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
    cache: bool = True,
    outputs: int | Sequence[str] | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function a pipeline step: ``@ladder.step`` or ``@ladder.step(retries=2)``.

    ``outputs`` names several outputs (default: one, or one per element of a
    ``-> tuple[A, B]`` annotation).
    """
    options = StepOptions(retries=retries, retry_delay=retry_delay, cache=cache)

    def wrap(fn: Callable[..., Any]) -> Step:
        return Step(fn, name=name, options=options, outputs=outputs)

    return wrap if function is None else wrap(function)
