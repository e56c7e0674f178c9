"""Uses each compiled dependency once and prints what worked: a wheel for the wrong platform fails here."""

import orjson
import psycopg
import pydantic
import requests
import sqlalchemy
from cryptography.fernet import Fernet
from lxml import etree
from sqlalchemy.util import has_compiled_ext


class Item(pydantic.BaseModel):
    name: str
    count: int


def main() -> None:
    key = Fernet.generate_key()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"corpus")) == b"corpus"
    assert etree.fromstring(b"<a><b>corpus</b></a>").findtext("b") == "corpus"
    assert orjson.loads(orjson.dumps({"corpus": 1})) == {"corpus": 1}
    assert Item.model_validate({"name": "corpus", "count": "3"}).count == 3
    with sqlalchemy.create_engine("sqlite://").connect() as connection:
        assert connection.execute(sqlalchemy.text("select 40 + 2")).scalar() == 42
    compiled = "compiled" if has_compiled_ext() else "pure"
    implementation = psycopg.pq.__impl__
    print(f"natives ok: cryptography fernet, lxml, orjson, pydantic-core, psycopg {implementation}, sqlalchemy {compiled}, "
          f"requests {requests.__version__}")
