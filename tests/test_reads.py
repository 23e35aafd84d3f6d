"""What apply and plan read, counted through the behaviour layer: a table is read in full once (the
plan guard), and after a step only the part of it that step changed; a missing table costs one call.

Counts, not timings: they hold on any machine. The benchmark (bench/bench.py) times them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from typer.testing import CliRunner

from behaviour import BehaviourProxy, proxy_for
from snapinfra_db.cli.application import app

CATALOG = """
prefix: reads-
defaults:
  tags: {ManagedBy: snapinfra-db}
tables:
  notes:
    partition_key: id
"""
WITH_TTL = CATALOG + "    ttl: expiresAt\n"
TWO = CATALOG + """  users:
    partition_key: id
"""


def _apply(tmp_path: Path, endpoint: str, text: str, *extra: str) -> str:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(text))
    result = CliRunner().invoke(app, ["apply", "--yes", *extra, "--endpoint-url", endpoint, "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    return result.output


def _reads(proxy: BehaviourProxy) -> dict[str, int]:
    calls = proxy.calls
    names = ("DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource")
    return {name: calls[name] for name in names}


def test_plan_of_missing_tables_asks_describe_table_only(clean_moto: str, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(TWO))
    with proxy_for(clean_moto) as proxy:
        result = CliRunner().invoke(app, ["plan", "--endpoint-url", proxy.url, "--catalog", str(catalog)])
        assert result.exit_code == 0, result.output
        # Two DescribeTable (not found); the endpoint probe asks PITR and tags once about a missing table.
        assert _reads(proxy) == {
            "DescribeTable": 2,
            "DescribeTimeToLive": 0,
            "DescribeContinuousBackups": 1,
            "ListTagsOfResource": 1,
        }


def test_a_ttl_step_is_followed_by_a_ttl_read_only(clean_moto: str, tmp_path: Path) -> None:
    _apply(tmp_path, clean_moto, CATALOG)
    with proxy_for(clean_moto) as proxy:
        _apply(tmp_path, proxy.url, WITH_TTL)
        assert proxy.calls["UpdateTimeToLive"] == 1
        # plan: one full read (4 calls) and, meanwhile, the custom endpoint's probe (PITR, tags); apply's
        # first turn, the plan guard: one full read (4); after UpdateTimeToLive: DescribeTable and
        # DescribeTimeToLive only.
        assert _reads(proxy) == {
            "DescribeTable": 3,
            "DescribeTimeToLive": 3,
            "DescribeContinuousBackups": 3,
            "ListTagsOfResource": 3,
        }


def test_a_new_table_is_read_back_from_create_tables_answer(clean_moto: str, tmp_path: Path) -> None:
    with proxy_for(clean_moto) as proxy:
        _apply(tmp_path, proxy.url, CATALOG)
        assert proxy.calls["CreateTable"] == proxy.calls["UpdateContinuousBackups"] == 1  # PITR is on by default
        # plan: DescribeTable (missing) and the endpoint probe's PITR and tags; apply's guard:
        # DescribeTable (still missing); CreateTable's answer (ACTIVE on moto) is the first look: what a
        # request can carry and an endpoint may drop is read back (tags), and PITR; TTL is off on a new
        # table. After UpdateContinuousBackups: DescribeTable and PITR.
        assert _reads(proxy) == {
            "DescribeTable": 3,
            "DescribeTimeToLive": 0,
            "DescribeContinuousBackups": 3,
            "ListTagsOfResource": 2,
        }


def test_an_effect_that_shows_late_is_read_again_until_it_shows(clean_moto: str, tmp_path: Path) -> None:
    """Tags dropped by CreateTable are set by TagResource; the re-read of tags repeats until they show."""
    with proxy_for(clean_moto, ignore_on_create=["Tags"]) as proxy:
        _apply(tmp_path, proxy.url, CATALOG)
        assert proxy.calls["TagResource"] == 1
        catalog = str(tmp_path / "tables.yaml")
        command = ["plan", "--detailed-exitcode", "--endpoint-url", proxy.url, "--catalog", catalog]
        again = CliRunner().invoke(app, command)
        assert again.exit_code == 0, again.output
