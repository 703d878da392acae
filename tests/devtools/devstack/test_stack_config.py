"""The local stack's configuration and security files, without starting anything."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.devstack.security import (
    CREDENTIAL_VARIABLES,
    StackCredentials,
    pbkdf2_hash,
    render_env,
    roles_yml,
    stack_role_credentials,
    write_file_realm,
)
from devtools.devstack.stack import StackConfig, StackError
from services.ops.access import es_role


def test_three_brokers_get_their_own_ports_replication_and_bootstrap(tmp_path: Path) -> None:
    cfg = StackConfig.from_env("x", base_dir=tmp_path, kafka_port=9092, kafka_controller_port=9093, kafka_brokers=3)
    assert [cfg.kafka_ports(n) for n in (1, 2, 3)] == [(9092, 9093), (9102, 9103), (9112, 9113)]
    assert cfg.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9102,127.0.0.1:9112"
    assert cfg.replication_factor == 3
    single = StackConfig.from_env("x", base_dir=tmp_path, kafka_port=9092)
    assert single.kafka_bootstrap == "127.0.0.1:9092" and single.replication_factor == 1
    with pytest.raises(StackError, match="1 or 3"):
        StackConfig.from_env("x", base_dir=tmp_path, kafka_brokers=2)


def test_an_instance_remembers_its_broker_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_KAFKA_BROKERS", raising=False)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "kafka.brokers").write_text("3\n")
    assert StackConfig.from_env("x", base_dir=tmp_path).kafka_brokers == 3
    assert StackConfig.from_env("x", base_dir=tmp_path, kafka_brokers=1).kafka_brokers == 1, "--brokers switches"
    monkeypatch.setenv("NEWSFLOW_KAFKA_BROKERS", "1")
    assert StackConfig.from_env("x", base_dir=tmp_path).kafka_brokers == 1


def test_the_elasticsearch_url_is_https_and_the_ca_lives_with_the_secrets(tmp_path: Path) -> None:
    cfg = StackConfig.from_env("x", base_dir=tmp_path, es_port=9201)
    assert cfg.es_url == "https://127.0.0.1:9201"
    assert cfg.ca_cert == tmp_path / "x" / "secrets" / "tls" / "ca.crt"


def test_credentials_are_private_random_and_kept(tmp_path: Path) -> None:
    first = StackCredentials.load_or_create(tmp_path / "secrets")
    assert first.created_now
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert first.path.stat().st_mode & 0o777 == 0o600
    passwords = [*first.kafka["users"].values(), *first.es["users"].values(), first.kafka["controller_password"]]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 32 for p in passwords)
    again = StackCredentials.load_or_create(tmp_path / "secrets")
    assert not again.created_now and again.data == first.data
    first.update("es", "users", {**first.es["users"], "newsflow-reader": "changed"})
    assert StackCredentials.load(tmp_path / "secrets").es_password("newsflow-reader") == "changed"


def test_role_credentials_give_each_role_only_its_own(tmp_path: Path) -> None:
    creds = StackCredentials.load_or_create(tmp_path / "secrets")
    reader = stack_role_credentials(creds, "reader")
    assert reader.kafka_username is None and reader.es_username == "newsflow-reader"
    parser = stack_role_credentials(creds, "parser")
    assert parser.kafka_username == "newsflow-parser" and parser.es_username is None
    indexer = stack_role_credentials(creds, "indexer")
    assert indexer.kafka_username == "newsflow-indexer" and indexer.es_username == "newsflow-indexer"
    assert len({reader.es_password, indexer.es_password, parser.kafka_password, indexer.kafka_password}) == 4


def test_env_lines_export_quoted_values_and_unset_what_the_role_lacks() -> None:
    text = render_env({"NEWSFLOW_ES_PASSWORD": "a b'c$d", "NEWSFLOW_KAFKA_PASSWORD": None})
    assert text.splitlines() == [f"export NEWSFLOW_ES_PASSWORD={shlex.quote(chr(97) + ' b' + chr(39) + 'c$d')}",
                                 "unset NEWSFLOW_KAFKA_PASSWORD"]
    out = subprocess.run(["bash", "-c", f"NEWSFLOW_KAFKA_PASSWORD=old; {text}; printf '%s|%s' \"$NEWSFLOW_ES_PASSWORD\" \"${{NEWSFLOW_KAFKA_PASSWORD-unset}}\""],
                         capture_output=True, text=True, check=True).stdout
    assert out == "a b'c$d|unset"
    assert "NEWSFLOW_ES_CA_CERTS" in CREDENTIAL_VARIABLES and "NEWSFLOW_KAFKA_PASSWORD_FILE" in CREDENTIAL_VARIABLES


def test_file_realm_hashes_are_elasticsearch_pbkdf2_of_the_password(tmp_path: Path) -> None:
    hashed = pbkdf2_hash("s3cret", cost=10000)
    prefix, salt, key = hashed.split("$")
    assert prefix == "{PBKDF2}10000"
    assert base64.b64decode(key) == hashlib.pbkdf2_hmac("sha512", b"s3cret", base64.b64decode(salt), 10000, dklen=32)
    assert pbkdf2_hash("s3cret") != hashed, "a fresh salt each time"
    write_file_realm(tmp_path, {"newsflow-reader": "r", "newsflow-admin": "a"},
                     {"newsflow-reader": "newsflow_reader", "newsflow-admin": "superuser"})
    assert [line.split(":")[0] for line in (tmp_path / "users").read_text().splitlines()] == ["newsflow-admin", "newsflow-reader"]
    assert (tmp_path / "users_roles").read_text() == "newsflow_reader:newsflow-reader\nsuperuser:newsflow-admin\n"
    assert (tmp_path / "users").stat().st_mode & 0o777 == 0o600


def test_roles_file_covers_every_alias_of_the_stack() -> None:
    roles = yaml.safe_load(roles_yml(("articles", "*-articles")))
    assert set(roles) == {"newsflow_reader", "newsflow_indexer", "newsflow_operator"}
    assert roles["newsflow_reader"]["indices"] == [{"names": ["articles"], "privileges": ["read"]},
                                                   {"names": ["*-articles"], "privileges": ["read"]}]
    assert roles["newsflow_indexer"]["indices"][1] == es_role("indexer", "*-articles")["indices"][0]  # type: ignore[index]
    assert json.dumps(roles["newsflow_operator"]["cluster"]) == json.dumps(["manage_index_templates", "monitor"])
