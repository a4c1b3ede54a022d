"""Building blocks of the API's request and response models (pydantic).

Money and quantities travel as decimal strings ("1250.00"), never as JSON numbers, so no
client's float can change a cent. Text refuses NUL characters (PostgreSQL cannot store them)
and is bounded by its column's length, so a request is refused rather than failing later.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    create_model,
    field_validator,
)
from pydantic.json_schema import WithJsonSchema

MAX_ID = 2**31 - 1


def _decimal_text(value: Any) -> Any:
    # A JSON number would have passed through a float on the client: ask for a string.
    if isinstance(value, float):
        raise ValueError("Send decimals as strings, e.g. \"12.50\".")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def decimal_in(integer_digits: int, places: int, *, negative: bool = False,
               maximum: Decimal | None = None) -> Any:
    """A decimal string that fits its column: at most so many digits before and after the
    point (a larger number is refused here, not by the database)."""
    sign = "-?" if negative else ""
    bound = Decimal(10) ** integer_digits
    return Annotated[
        Decimal,
        BeforeValidator(_decimal_text),
        Field(max_digits=integer_digits + places, decimal_places=places,
              allow_inf_nan=False, lt=bound if maximum is None else None,
              le=maximum, gt=-bound if negative else None, ge=None if negative else 0),
        WithJsonSchema({"type": "string",
                        "pattern": rf"^{sign}\d{{1,{integer_digits}}}(\.\d{{1,{places}}})?$",
                        "examples": ["12.50"]}),
    ]


# Bounded so that a line (quantity × price) and a document's totals fit MONEY's 14 digits.
Money = decimal_in(8, 4)
Quantity = decimal_in(5, 4, negative=True)
Percent = decimal_in(3, 2, maximum=Decimal(100))

CENT = Decimal("0.01")


def decimal_text(value: Decimal) -> str:
    """A stored number as text: two decimals when it has no more ("2137.50", not the
    column's "2137.5000"), else all it has ("12.3456")."""
    if value == value.quantize(CENT):
        return format(value.quantize(CENT), "f")
    return format(value.normalize(), "f")


DecimalOut = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["12.50"]}),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def text(max_length: int, min_length: int = 0) -> Any:
    """A string of at most max_length characters, surrounding spaces removed."""
    return Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length,
                                            min_length=min_length)]


class RequestModel(BaseModel):
    """A request body or query: unknown fields are refused, text holds no NUL."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Text cannot contain NUL characters.")
        return value


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(ResponseModel):
    field: str
    message: str


class ErrorDetail(ResponseModel):
    code: str = Field(description="Stable, for programs: validation_failed, not_found ...")
    message: str = Field(description="For people.")
    fields: list[FieldError]
    status: int
    title: str


class ErrorBody(ResponseModel):
    error: ErrorDetail


class ListQuery(RequestModel):
    cursor: str | None = Field(None, max_length=200,
                               description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@cache
def page_of(model: type[BaseModel]) -> type[BaseModel]:
    """The response model of a list of model: ``{"data": [...], "next_cursor": ...}``."""
    return create_model(
        f"{model.__name__.removesuffix('Out')}Page",
        __base__=ResponseModel,
        data=(list[model], ...),
        next_cursor=(str | None, Field(..., description="null on the last page")),
    )

