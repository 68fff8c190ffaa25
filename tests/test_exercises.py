"""Every exercise's check on real servers: it accepts the reference solution, refuses typical wrong answers
(saying which part failed), reports untouched stubs as "to do", and survives bad answers with the lab intact."""

from __future__ import annotations

import random
import runpy
import time

import nbformat
import pytest

from lab import clients, exercises, report
from lab.core.errors import LabError
from lab.grading.exercise_runner import observe
from lab.state.keys import KeySchema

from .conftest import REPO, one_shared_pair, run_lab

SOLUTIONS = REPO / "notebooks" / "solutions"


def solution(exercise_id: str):
    return runpy.run_path(str(SOLUTIONS / f"{exercise_id}.py"))


# -- typical wrong answers, per exercise --------------------------------------------------------------


def _reversed_replica(primary, secondary, primary_port):
    primary.replicaof("127.0.0.1", secondary.connection_pool.connection_kwargs["port"])


def _lookup_without_ttl(r, db, key, ttl):
    value = r.get(f"cache:{key}")
    if value is None:
        value = db.read(key)
        r.set(f"cache:{key}", value)
    return value


def _lookup_reading_the_database_every_time(r, db, key, ttl):
    value = db.read(key)
    r.set(f"cache:{key}", value, ex=ttl)
    return value


def _lookup_under_the_wrong_key(r, db, key, ttl):
    value = r.get(key)
    if value is None:
        value = db.read(key)
        r.set(key, value, ex=ttl)
    return value


def _jitter_too_wide(r, keys, base_ttl):
    for key in keys:
        r.set(f"cache:{key}", "v", ex=int(base_ttl * random.uniform(1, 2)))


WRONG = {
    "01.replicaof": [lambda primary, secondary, port: None, _reversed_replica],
    "02.byte_lag": [lambda m, r: 0, lambda m, r: int(r["slave_repl_offset"]) - int(m["master_repl_offset"])],
    "02.wait": [
        lambda r, k, v: (r.set(k, v), 1)[1],
        lambda r, k, v: (r.set(k, v), r.wait(1, 1000), None)[2],
        lambda r, k, v: (r.wait(1, 100), r.set(k, v), 1)[2],
    ],  # WAIT first: it waited for nothing
    "03.lookup": [_lookup_without_ttl, _lookup_reading_the_database_every_time, _lookup_under_the_wrong_key],
    "03.invalidate": [lambda r, db, k, v: db.update(k, v), lambda r, db, k, v: r.delete(f"cache:{k}")],
    "04.percentiles": [lambda xs: (sum(xs) / len(xs), max(xs)), lambda xs: (min(xs), max(xs))],
    "05.jitter": [
        lambda r, keys, base: [r.set(f"cache:{k}", "v", ex=base) for k in keys],
        lambda r, keys, base: [r.set(f"cache:{k}", "v") for k in keys],
        _jitter_too_wide,
    ],
    "06.min_replicas": [lambda m: None, lambda m: m.config_set("min-replicas-to-write", 2)],
    "07.same_slot": [lambda u, f: f"cache:user:{u}:{f}", lambda u, f: f"cache:{{user}}:{u}:{f}"],
    "08.scan_policy": [lambda r: None, lambda r: r.config_set("maxmemory-policy", "noeviction"),
                       lambda r: r.config_set("maxmemory-policy", "allkeys-random")],
    "08.sizing": [lambda r, keys, key: 0, lambda r, keys, key: r.info("memory")["used_memory"] + keys * r.memory_usage(key),
                  lambda r, keys, key: 10**9],
}  # fmt: skip
FUNCTIONS = [e for e in exercises.EXERCISES if "predict" not in e]


# -- other correct answers, in the idioms students meet (each exercise: at least two styles) --------------


def _lookup_with_setex(r, db, key, ttl):
    cached = r.get(f"cache:{key}")
    if cached is None:
        cached = db.read(key)
        r.setex(f"cache:{key}", ttl, cached)
    return cached


def _lookup_with_psetex_in_a_pipeline(r, db, key, ttl):
    cached = r.getex(f"cache:{key}")
    if cached is None:
        cached = db.read(key)
        with r.pipeline() as pipe:
            pipe.psetex(f"cache:{key}", ttl * 1000, cached).execute()
    return cached


def _lookup_set_then_expire(r, db, key, ttl):
    if r.exists(f"cache:{key}"):
        return r.get(f"cache:{key}")
    value = db.read(key)
    r.set(f"cache:{key}", value, nx=True)
    r.expire(f"cache:{key}", ttl)
    return value


def _jitter_with_setex(r, keys, base_ttl):
    for key in keys:
        r.setex(f"cache:{key}", base_ttl + random.randint(0, base_ttl // 5), "v")


def _jitter_with_expire(r, keys, base_ttl):
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.set(f"cache:{key}", "v")
        pipe.expire(f"cache:{key}", int(base_ttl * random.uniform(1, 1.2)))
    pipe.execute()


def _percentiles_interpolated(latencies):
    ordered = sorted(latencies)

    def at(q):
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return at(0.5), at(0.99)


ALSO_RIGHT = {
    "01.replicaof": [lambda primary, secondary, port: secondary.execute_command("REPLICAOF", "127.0.0.1", port),
                     lambda primary, secondary, port: secondary.slaveof("127.0.0.1", port)],
    "02.byte_lag": [lambda m, r: m["master_repl_offset"] - r["slave_repl_offset"]],
    "02.wait": [lambda r, k, v: (r.set(k, v), r.execute_command("WAIT", 1, 1000))[1]],
    "03.lookup": [_lookup_with_setex, _lookup_with_psetex_in_a_pipeline, _lookup_set_then_expire],
    "03.invalidate": [lambda r, db, k, v: (db.update(k, v), r.unlink(f"cache:{k}")),
                      lambda r, db, k, v: (r.delete(f"cache:{k}"), db.update(k, v), r.delete(f"cache:{k}"))],
    "04.percentiles": [_percentiles_interpolated],
    "05.jitter": [_jitter_with_setex, _jitter_with_expire],
    "06.min_replicas": [lambda m: (m.execute_command("CONFIG", "SET", "min-replicas-to-write", 1),
                                   m.execute_command("CONFIG", "SET", "min-replicas-max-lag", 10))],
    "07.same_slot": [lambda u, f: f"user:{{{u}}}:{f}"],
    "08.scan_policy": [lambda r: r.execute_command("CONFIG", "SET", "maxmemory-policy", "volatile-lfu"),
                       lambda r: (r.config_set("maxmemory-policy", "allkeys-lfu"), r.config_set("lfu-log-factor", 5))],
    "08.sizing": [lambda r, keys, key: round(r.info("memory")["used_memory"] * 1.1 + keys * r.memory_usage(key) * 1.6)],
}  # fmt: skip


@one_shared_pair
@pytest.mark.parametrize("exercise", FUNCTIONS)
def test_each_check_accepts_the_idioms_students_meet(pair, exercise):
    assert len(ALSO_RIGHT[exercise]) + 1 >= 2  # the solution and at least one other style
    for answer in ALSO_RIGHT[exercise]:
        result = exercises.check(exercise, answer)
        assert result.status == "pass", (exercise, result.lines())


def test_the_exercise_texts_list_what_their_user_may_run():
    from lab.state.credentials import key_commands_text

    listed = set()
    for path in report.find_chapters():
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if cell.metadata.get("exercise") in ("03.lookup", "03.invalidate", "05.jitter"):
                assert key_commands_text() in cells[i - 1].source, cell.metadata["exercise"]
                listed.add(cell.metadata["exercise"])
    assert listed == {"03.lookup", "03.invalidate", "05.jitter"}


def test_at_least_twelve_exercises_one_in_each_chapter_three_predictions():
    assert len(exercises.EXERCISES) >= 12
    assert {e[:2] for e in exercises.EXERCISES} >= {"01", "02", "03", "04", "05", "06", "07"}
    assert sum("predict" in e for e in exercises.EXERCISES) >= 3
    assert {e[:2] for e in exercises.EXERCISES if "predict" in e} >= {"02", "03", "04", "05", "06", "07"}
    assert "03.lookup" in exercises.EXERCISES and set(WRONG) == set(FUNCTIONS)


def test_every_exercise_has_a_stub_cell_a_check_after_it_and_a_solution_file():
    stubs = {}
    for path in report.find_chapters():
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if cell.get("metadata", {}).get("exercise"):
                exercise = cell.metadata["exercise"]
                stubs[exercise] = path.stem
                after = "".join(c.source for c in cells[i + 1 : i + 4])
                assert f'"{exercise}"' in after, f"no check right after the stub of {exercise}"
                assert exercise[:2] == path.stem[:2]
    assert set(stubs) == set(exercises.EXERCISES)
    assert all((SOLUTIONS / f"{e}.py").exists() for e in exercises.EXERCISES)


@one_shared_pair
@pytest.mark.parametrize("exercise", FUNCTIONS)
def test_each_check_accepts_its_solution_and_refuses_wrong_answers(pair, exercise):
    done = exercises.check(exercise, solution(exercise)["answer"])
    assert done.status == "pass" and done.ok, done.lines()
    for wrong in WRONG[exercise]:
        result = exercises.check(exercise, wrong)
        assert result.status == "fail" and not result.ok, (exercise, result.lines())
        assert any(not p.ok for p in result.parts) and result.hint, result.lines()


@one_shared_pair
@pytest.mark.parametrize("exercise", FUNCTIONS)
def test_untouched_stubs_are_to_do_never_done(pair, exercise):
    for path in report.find_chapters():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.get("metadata", {}).get("exercise") == exercise:
                namespace: dict = {}
                exec(cell.source, namespace)  # noqa: S102 - our own stub cell
                result = exercises.check(exercise, namespace["answer"])
                assert result.status == "todo" and not result.ok, result.lines()
                return
    pytest.fail(f"no stub for {exercise}")


def test_a_prediction_counts_when_made_before_the_measurement_whatever_its_value(capsys):
    assert exercises.check("05.predict_ttl").status == "todo"  # no prediction yet
    for far_off in (0.5, 10, 150, 5000):  # a fast laptop, a slow one: the act of predicting is what counts
        exercises.predict("04.predict_speedup", far_off)
        time.sleep(0.01)
        observe("04.predict_speedup", 633, hit_us=40.0, miss_ms=25.3, db_ms=20.0)
        result = exercises.check("04.predict_speedup")
        assert result.status == "pass" and result.ok, result.lines()
        notes = [p.text for p in result.parts if p.status == "note"]
        assert "the lab measured 633" in notes[0] and "×" in notes[0], notes  # the gap, as a factor
        assert "25.3 ms" in notes[1] and "40 µs" in notes[1], notes  # what explains it: this run's figures
    exercises.predict("05.predict_ttl", 4)
    observe("05.predict_ttl", 3, pttl_ms=2996, ttl=5, wait=2.0)
    result = exercises.check("05.predict_ttl")
    assert result.ok and "off by 1" in "\n".join(result.lines()) and "2996 ms" in "\n".join(result.lines())
    exercises.predict("06.predict_wait_loss", 0)
    time.sleep(0.01)
    observe("06.predict_wait_loss", 0, without_wait=37, lag_s=0.3)
    result = exercises.check("06.predict_wait_loss")
    assert result.ok and "exactly what was measured" in "\n".join(result.lines()) and "37" in result.lines()[-1]
    exercises.predict("06.predict_wait_loss", 12)
    result = exercises.check("06.predict_wait_loss")  # predicted after the measurement: it does not count
    assert result.status == "fail" and "before the measurement" in result.parts[0].text
    exercises.predict("05.predict_ttl", "about three")  # not a number: not recorded, and said so
    assert "a prediction is a number" in capsys.readouterr().out
    with pytest.raises(LabError, match="not a prediction"):
        exercises.predict("03.lookup", 1)


def test_every_mark_of_an_exercise_carries_a_word_and_its_own_colour():
    from lab.core.marks import MIME, Part

    result = exercises.result("03.lookup", "fail", [Part("pass", "first call"), Part("fail", "second call")], "hint")
    bundle = result._repr_mimebundle_()
    page = bundle["text/html"]
    assert ">pass</span>" in page and ">fail</span>" in page and bundle[MIME]["id"] == "03.lookup"
    items = {item.split("</span>")[-1].strip(): item for item in page.split("<li")[1:]}
    assert "#1a7f37" in items["first call</li>"] and "#cf222e" not in items["first call</li>"]  # green, in a ❌
    assert "#cf222e" in items["second call</li></ul><div><small>hint: <code>hint</code></small></div></div>"]
    assert "✅ pass first call" in "\n".join(result.lines()) and "❌ fail second call" in "\n".join(result.lines())


@one_shared_pair
def test_bad_answers_are_one_sentence_and_the_lab_is_intact(pair):
    admin = clients.client("master")
    theirs = KeySchema().value("someone-elses")
    admin.set(theirs, "keep me")

    def raises(r, db, key, ttl):
        raise ValueError("oops")

    def hangs(r, db, key, ttl):
        while True:
            pass

    def deletes_other_keys(r, db, key, ttl):
        r.delete(theirs)
        return db.read(key)

    cases = {42: "must be a function", (lambda r: 1): "TypeError", raises: "ValueError: oops (line",
             deletes_other_keys: "NoPermissionError"}  # fmt: skip
    for answer, said in cases.items():
        result = exercises.check("03.lookup", answer)
        assert result.status == "fail" and said in "\n".join(result.lines()), result.lines()
    start = time.monotonic()
    result = exercises.check("03.lookup", hangs, limit=1)
    assert result.status == "fail" and "did not finish within 1 s" in result.lines()[-2]
    assert time.monotonic() - start < 8
    assert admin.get(theirs) == "keep me"
    assert not [u for u in admin.acl_users() if u.startswith("exercise-")], "a check's user was left behind"
    with pytest.raises(LabError, match="Unknown exercise"):
        exercises.check("99.nope", lambda: None)


@pytest.mark.slow
def test_report_without_answers_exits_0_and_counts_what_is_to_do(lab_home, tmp_path):
    out = tmp_path / "report"
    result = run_lab("report", "--quick", "--chapter", "01", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 exercise still to do" in result.stdout
    index = (out / "index.html").read_text()
    assert ">exercise 01.replicaof<" in index and ">to do</span>" in index


def test_a_wrong_exercise_fails_the_report(tmp_path, lab_home, monkeypatch):
    broken = tmp_path / "notebooks"
    broken.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from lab.grading.checkpoints import checkpoint\ncheckpoint('07.fine', 'fine', True)"),
        nbformat.v4.new_code_cell("from lab import exercises\n"
                                  "exercises.show(exercises.check('07.same_slot', lambda u, f: f'user:{u}:{f}'))"),
    ]  # fmt: skip
    nbformat.write(nb, broken / "07_wrong.ipynb")
    monkeypatch.setattr(report.run.settings, "NOTEBOOKS_DIR", broken)
    out = tmp_path / "out"
    assert report.build(quick=True, out=str(out)) == 1
    index = (out / "index.html").read_text()
    assert ">exercise 07.same_slot<" in index and ">fail</span>" in index and "hint:" in index
