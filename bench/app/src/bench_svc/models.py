from __future__ import annotations

from pydantic import BaseModel, Field


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    quantity: int = Field(ge=0)
    tags: list[str] = []


class Item(ItemIn):
    id: int
