"""The one error type that services raise when a rule refuses an action."""

from __future__ import annotations

from typing import Literal

Code = Literal["not_found", "forbidden", "wrong_stage", "invalid", "too_large"]

#: HTTP status for each refusal; the API's exception handler uses this table.
STATUS_FOR_CODE: dict[str, int] = {
    "not_found": 404,
    "forbidden": 403,
    "wrong_stage": 409,
    "conflict": 409,
    "invalid": 400,
    "too_large": 413,
    "gone": 410,
}


class ServiceError(Exception):
    """A refused action: ``code`` decides the HTTP status, ``message`` is for people.

    ``field`` names the input that is wrong when ``code == "invalid"``.
    """

    def __init__(self, message: str, *, code: Code | str = "invalid", field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field

    @property
    def lines(self) -> list[str]:
        """The refusal as lines for a page's messages (one per bad field where known)."""
        return [self.message]

    @property
    def status(self) -> int:
        return STATUS_FOR_CODE.get(self.code, 400)

    def as_dict(self) -> dict[str, str | list[str]]:
        if self.field:
            return {self.field: [self.message], "detail": self.message, "code": self.code}
        return {"detail": self.message, "code": self.code}
