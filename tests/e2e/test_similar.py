"""Similar prompts ([similar] threshold): an existing image answers a
near-identical prompt at once, with no paid call, as an alias row that is
an exact hit the next time; never across sizes, never with threshold = 0
or &exact=1; counted exactly under concurrency."""

import json
import os
import subprocess
import urllib.parse

from tests.lib import falstub, servers
from tests.lib.httpclient import fire
from tests.e2e.test_fal import KEY, fal_front

ON = {("similar", "threshold"): "0.8", ("limits", "new_images_per_minute"): 0}


def img(text, size="64x64", ext="jpg", extra=""):
    return "/%s.%s?text=%s%s" % (size, ext, urllib.parse.quote(text), extra)


def row(f, prompt, cols):
    rows = f.sql("SELECT %s FROM generation_status WHERE prompt = '%s'"
                 % (cols, prompt.replace("'", "''")))
    assert len(rows) == 1, (prompt, rows)
    return rows[0]


def calls(f):
    return f.sql("SELECT SUM(api_calls_made) FROM generation_status")[0][0]


def build_index(env, f):
    """promptpix similar-index on f's database."""
    e = dict(os.environ, PROMPTPIX_DB_PASSWORD=servers.DB_PASSWORD)
    return subprocess.run([env.binary, "similar-index", "-c", f.conf],
                          capture_output=True, text=True, env=e, timeout=60)


def test_similar_hit_is_an_alias_and_counted(env):
    with env.front(overrides=ON) as f:
        first = f.get(img("A beautiful sunset"))
        assert first.status == 302 and first.header("x-promptpix-similar") is None
        src = row(f, "A beautiful sunset", "prompt_hash")[0]
        r = f.get(img("a beautiful sunset!"))
        assert r.status == 302, r
        assert r.header("location") == first.header("location")
        assert r.header("x-promptpix-similar") == "%s; score=1.00" % src
        # The alias keeps the user's prompt, made no call, and is cached.
        assert row(f, "a beautiful sunset!", "status, similar_to, similar_score,"
                   " api_calls_made, total_requests, similar_hits, cache_hits") == \
            ["completed", src, "1.000", "0", "1", "1", "0"]
        assert f.sql("SELECT similar_to FROM image_cache WHERE prompt = "
                     "'a beautiful sunset!'") == [[src]]
        # Only the generated image is in the index, not the alias.
        assert f.sql("SELECT image_hash FROM similar_index") == [[src]]
        assert calls(f) == "1"
        # The next identical request is an exact hit, with no header.
        again = f.get(img("a beautiful sunset!"))
        assert again.status == 302 and again.header("x-promptpix-similar") is None
        assert again.header("location") == first.header("location")
        f.flush()
        assert row(f, "a beautiful sunset!", "total_requests, similar_hits, cache_hits") == \
            ["2", "1", "1"]
        st = json.loads(f.get("/api/generation/stats").body)["stats"]
        for period in ("today", "all_time"):
            s = st[period]
            assert s["similar_hits"] == 1, s
            assert (s["total_requests"], s["api_calls_made"], s["api_calls_saved"]) == \
                (3, 1, 2), s
        assert f.metric('promptpix_requests_total{outcome="similar"}') == 1
        # The cleanup archives the figure, and the alias outlives its row.
        f.sql("UPDATE generation_status SET completed_at = NOW() - INTERVAL 30 DAY")
        f.sql("CALL cleanup_old_generation_status(7)")
        assert f.rows() == 0
        assert json.loads(f.get("/api/generation/stats").body)["stats"]["all_time"][
            "similar_hits"] == 1
        later = f.get(img("a beautiful sunset!"))
        assert later.header("location") == first.header("location")
        f.flush()
        assert calls(f) == "0"      # the restored row made no call either


def test_what_differs_is_generated(env):
    with env.front(overrides=ON) as f:
        for text in ("a cat with a hat", "red car at night"):
            assert f.get(img(text)).status == 302
        for text in ("a cat without a hat", "blue car at night", "red car at noon"):
            r = f.get(img(text))
            assert r.status == 302 and r.header("x-promptpix-similar") is None, (text, r)
        assert calls(f) == "5"
        assert f.sql("SELECT COUNT(*) FROM generation_status WHERE similar_to IS NOT NULL") == [["0"]]


def test_different_sizes_formats_seeds_never_match(env):
    with env.front(overrides=ON) as f:
        assert f.get(img("red fox in snow")).status == 302
        for target in (img("Red fox in snow!", size="128x64"),
                       img("Red fox in snow!", size="64x128"),
                       img("Red fox in snow!", ext="png"),
                       img("Red fox in snow!", extra="&seed=7")):
            r = f.get(target)
            assert r.status == 302 and r.header("x-promptpix-similar") is None, (target, r)
        assert calls(f) == "5"
        # The same shape still matches (jpeg is jpg).
        r = f.get(img("red fox, in the snow", ext="jpeg"))
        assert r.header("x-promptpix-similar") is not None, r
        assert calls(f) == "5"


def test_threshold_zero_is_as_today(env):
    with env.front(overrides={("limits", "new_images_per_minute"): 0}) as f:
        assert f.get(img("A beautiful sunset")).status == 302
        r = f.get(img("a beautiful sunset!"))
        assert r.status == 302 and r.header("x-promptpix-similar") is None
        assert calls(f) == "2"
        # Nothing of the feature is written.
        assert f.sql("SELECT COUNT(*) FROM similar_index") == [["0"]]
        assert f.sql("SELECT COUNT(*) FROM generation_status WHERE similar_to IS NOT NULL"
                     " OR similar_hits > 0") == [["0"]]
        assert json.loads(f.get("/api/generation/stats").body)["stats"]["all_time"][
            "similar_hits"] == 0


def test_exact_one_generates(env):
    with env.front(overrides=ON) as f:
        assert f.get(img("a lighthouse in a storm")).status == 302
        r = f.get(img("A lighthouse in a storm!", extra="&exact=1"))
        assert r.status == 302 and r.header("x-promptpix-similar") is None
        assert calls(f) == "2"
        assert row(f, "A lighthouse in a storm!", "api_calls_made, similar_to") == ["1", None]
        # exact is not part of the image: without it, the same row answers.
        again = f.get(img("A lighthouse in a storm!"))
        assert again.header("location") == r.header("location")
        assert calls(f) == "2"
        for bad in ("&exact=2", "&exact=", "&exact=1&exact=1", "&exact=yes"):
            b = f.get(img("x", extra=bad))
            assert b.status == 400, (bad, b)
        assert f.sql("SELECT COUNT(*) FROM generation_status WHERE prompt = 'x'") == [["0"]]


def test_exact_one_after_an_alias_gets_its_own_image(env):
    """An alias made by a request without exact=1 does not answer an
    exact=1 request: that one queues the image of its own prompt, which
    then answers everyone; also after a cleanup removed the status rows
    (the image cache keeps the alias as an alias)."""
    # Hits counted in memory are flushed by hand, before the cleanup:
    # a flush after it would bring their rows back.
    with env.front(processes=1, overrides={
            **ON, ("server", "count_flush_interval"): "30"}) as f:
        src = f.get(img("A quiet harbour at dawn"))
        alias = f.get(img("a quiet harbour at dawn!"))
        assert alias.header("location") == src.header("location")
        assert alias.header("x-promptpix-similar") is not None
        own = f.get(img("a quiet harbour at dawn!", extra="&exact=1"))
        assert own.status == 302 and own.header("x-promptpix-similar") is None, own
        assert own.header("location") != src.header("location"), f.log()[-3000:]
        assert row(f, "a quiet harbour at dawn!", "status, similar_to, api_calls_made") == \
            ["completed", None, "1"]
        assert f.sql("SELECT similar_to FROM image_cache WHERE prompt = "
                     "'a quiet harbour at dawn!'") == [[None]]
        # Its own image now answers with or without exact.
        assert f.get(img("a quiet harbour at dawn!")).header("location") == \
            own.header("location")
        # After a cleanup: an alias restored from the image cache is still
        # one, and an exact request still gets its own image.
        alias2 = f.get(img("A QUIET HARBOUR AT DAWN"))
        assert alias2.header("x-promptpix-similar") is not None and \
            alias2.header("location") in (src.header("location"), own.header("location"))
        f.flush()
        f.sql("UPDATE generation_status SET completed_at = NOW() - INTERVAL 30 DAY")
        f.sql("CALL cleanup_old_generation_status(7)")
        assert f.rows() == 0
        restored = f.get(img("A QUIET HARBOUR AT DAWN", extra="&exact=1"))
        assert restored.status == 302 and \
            restored.header("location") not in (src.header("location"), own.header("location"))
        assert row(f, "A QUIET HARBOUR AT DAWN", "similar_to, api_calls_made") == [None, "1"]


def test_index_builder_and_cleanup(env):
    with env.front(overrides={("limits", "new_images_per_minute"): 0}) as f:
        # Made while the feature was off: not in the index.
        for text in ("old harbour at dawn", "old mill by a river", "!!!"):
            assert f.get(img(text)).status == 302
        assert f.sql("SELECT COUNT(*) FROM similar_index") == [["0"]]
        p = build_index(env, f)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("indexed 2 images, 1 without words"), p.stdout
        assert f.sql("SELECT COUNT(*) FROM similar_index") == [["2"]]
        # Again: nothing new, nothing doubled.
        p = build_index(env, f)
        assert p.returncode == 0 and f.sql("SELECT COUNT(*) FROM similar_index") == [["2"]]
        # The status cleanup keeps images, so it keeps the index; a
        # deleted image takes its entry with it.
        f.sql("UPDATE generation_status SET completed_at = NOW() - INTERVAL 30 DAY")
        f.sql("CALL cleanup_old_generation_status(7)")
        assert f.rows() == 0
        assert f.sql("SELECT COUNT(*) FROM similar_index") == [["2"]]
        f.sql("DELETE FROM image_cache WHERE prompt = 'old mill by a river'")
        assert f.sql("SELECT COUNT(*) FROM similar_index") == [["1"]]


def test_builder_indexes_what_lookups_find(env):
    off = env.front(overrides={("limits", "new_images_per_minute"): 0})
    on = env.front(overrides=ON, share_with=off)
    with off:
        assert off.get(img("a quiet forest path")).status == 302
        assert off.sql("SELECT COUNT(*) FROM similar_index") == [["0"]]
        p = build_index(env, off)
        assert p.returncode == 0 and p.stdout.startswith("indexed 1 images"), p
    with on:
        r = on.get(img("A quiet forest path."))
        assert r.status == 302 and r.header("x-promptpix-similar") is not None, r
        assert calls(on) == "1"


def test_fifty_concurrent_near_duplicates_one_paid_call(env):
    base = "A cat wearing a wizard hat"
    variants = ["a cat wearing a wizard's hat", "Cat wearing a wizard hat!",
                "cat, wearing a wizard hat", "A CAT WEARING A WIZARD HAT",
                "wizard hat, a cat wearing"]
    with falstub.FalStub(KEY) as stub:
        stub.script(base, {"delay": 0.1})
        with fal_front(env, stub, processes=2, threads=64, overrides=ON) as f:
            first = f.get(img(base))
            assert first.status == 302
            targets = [img(variants[i % 5]) for i in range(45)] + [img(base)] * 5
            got = fire(f, targets)
            assert [r.status for r in got] == [302] * 50, got
            assert {r.header("location") for r in got} == {first.header("location")}
            # One paid call in all, upstream and in the rows.
            assert stub.count("submit") == 1, stub.counts
            assert calls(f) == "1"
            f.flush()
            rows = f.sql("SELECT prompt, total_requests, similar_hits, cache_hits,"
                         " api_calls_made, similar_to IS NOT NULL FROM generation_status")
            assert len(rows) == 6, rows
            alias = [r for r in rows if r[5] == "1"]
            assert sorted(r[0] for r in alias) == sorted(variants), rows
            for r in alias:
                assert int(r[1]) == int(r[2]) + int(r[3]) and r[4] == "0", r
            assert sum(int(r[1]) for r in alias) == 45
            assert sum(int(r[1]) for r in rows) == 51
            st = json.loads(f.get("/api/generation/stats").body)["stats"]["all_time"]
            assert st["total_requests"] == 51 and st["api_calls_made"] == 1, st
            assert st["similar_hits"] == sum(int(r[2]) for r in alias) >= 5, st
            # The header is on the requests that made the match.
            named = [r for r in got if r.header("x-promptpix-similar")]
            assert 5 <= len(named) <= 45, len(named)
