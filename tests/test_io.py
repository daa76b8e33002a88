"""The atomic writers: a failure part-way leaves the earlier version (or nothing), and no
temporary file or folder beside it."""

import json
import stat

import pytest

from xtinyunet.io import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    publish_directory,
    read_json,
    read_json_as_of,
    staged_directory,
    write_csv,
)


class Interrupted(Exception):
    """Stands for whatever stops a writer part-way (a bug, a full disk, Ctrl-C)."""


class Unprintable:
    def __str__(self):
        raise Interrupted("cannot be written")


def entries(folder) -> list[str]:
    """Everything in `folder`, hidden temporaries included."""
    return sorted(path.name for path in folder.iterdir())


def tree(folder) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("earlier", [None, "earlier\n"])
def test_atomic_path_interrupted_leaves_the_earlier_file_and_no_temporary(tmp_path, earlier):
    target = tmp_path / "2d_xtiny8.json"
    if earlier is not None:
        target.write_text(earlier)
    with pytest.raises(Interrupted):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            assert tmp.parent == target.parent and tmp.suffix == ".json" and tmp != target
            raise Interrupted
    if earlier is None:
        assert entries(tmp_path) == []
    else:
        assert entries(tmp_path) == ["2d_xtiny8.json"]
        assert target.read_text() == earlier


def test_atomic_path_replaces_the_file_with_a_plain_files_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("written by open()")
    target = tmp_path / "new_folder" / "table.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n")
        assert not target.exists()  # nothing under the final name until the block succeeds
    assert target.read_text() == "a,b\n"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert entries(target.parent) == ["table.csv"]


def test_atomic_write_text_failing_mid_write_keeps_the_earlier_text(tmp_path):
    target = tmp_path / "both.tex"
    target.write_text("earlier\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "x" * 100_000 + "\udc80")  # a lone surrogate: not UTF-8
    assert entries(tmp_path) == ["both.tex"]
    assert target.read_text() == "earlier\n"


def test_atomic_write_json_of_an_unserialisable_object_keeps_the_earlier_record(tmp_path):
    target = tmp_path / "record.json"
    atomic_write_json(target, {"sensitivity": 1.5})
    with pytest.raises(TypeError, match="not JSON serializable"):
        atomic_write_json(target, {"sensitivity": 2.5, "network": object()})
    assert entries(tmp_path) == ["record.json"]
    assert read_json(target) == {"sensitivity": 1.5}


def test_write_csv_failing_on_a_row_keeps_the_earlier_table(tmp_path):
    target = tmp_path / "results.csv"
    write_csv(target, [{"model": "nnU-Net", "dice": 80.0}])
    earlier = target.read_text()
    assert earlier == "model,dice\nnnU-Net,80.0\n"
    with pytest.raises(Interrupted):
        write_csv(target, [{"model": "XTinyU-Net", "dice": 81.0}, {"model": Unprintable()}])
    assert entries(tmp_path) == ["results.csv"]
    assert target.read_text() == earlier


def test_read_json_as_of_follows_the_file_and_is_none_without_it(tmp_path):
    target = tmp_path / "XTinyUNetPlans.json"
    assert read_json_as_of(target) is None
    target.write_text(json.dumps({"configurations": {"2d": {}}}))
    first = read_json_as_of(target)
    assert first == {"configurations": {"2d": {}}}
    assert read_json_as_of(target) is first  # read once per state of the file
    target.write_text(json.dumps({"configurations": {"2d": {}, "2d_xtiny8": {}}}))
    assert read_json_as_of(target) == {"configurations": {"2d": {}, "2d_xtiny8": {}}}


def test_reading_a_broken_json_file_names_it(tmp_path):
    target = tmp_path / "nnUNetPlans.json"
    target.write_text('{"configurations": ')
    with pytest.raises(ValueError, match=f"{target}: not valid JSON"):
        read_json(target)
    assert target.read_text() == '{"configurations": '


def make_folder(path, files: dict[str, str]):
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)


def test_staged_directory_interrupted_keeps_the_earlier_folder(tmp_path):
    target = tmp_path / "Dataset700_Synth"
    make_folder(target, {"dataset.json": "{}", "imagesTr/a_0000.png": "a"})
    with pytest.raises(Interrupted):
        with staged_directory(target) as staging:
            make_folder(staging, {"dataset.json": '{"new": 1}'})
            raise Interrupted
    assert entries(tmp_path) == ["Dataset700_Synth"]
    assert tree(target) == {"dataset.json": "{}", "imagesTr/a_0000.png": "a"}


def test_staged_directory_replaces_the_earlier_folder_whole(tmp_path):
    target = tmp_path / "Dataset700_Synth"
    make_folder(target, {"dataset.json": "{}", "imagesTr/a_0000.png": "a"})
    with staged_directory(target) as staging:
        make_folder(staging, {"dataset.json": '{"new": 1}'})
        assert tree(target) == {"dataset.json": "{}", "imagesTr/a_0000.png": "a"}
    assert entries(tmp_path) == ["Dataset700_Synth"]
    assert tree(target) == {"dataset.json": '{"new": 1}'}


@pytest.mark.parametrize("earlier", ["folder", "file", "link"])
def test_publish_directory_replaces_a_folder_file_or_link(tmp_path, earlier):
    results = tmp_path / "results"
    elsewhere = tmp_path / "user_data"
    make_folder(elsewhere, {"case.png": "theirs"})
    staging = results / ".fold_0.staging"
    make_folder(staging, {"case.png": "new"})
    target = results / "fold_0"
    if earlier == "folder":
        make_folder(target, {"case.png": "old", "stale.png": "old"})
    elif earlier == "file":
        target.write_text("old")
    else:
        target.symlink_to(elsewhere)
    publish_directory(staging, target)
    assert entries(results) == ["fold_0"]
    assert not target.is_symlink() and tree(target) == {"case.png": "new"}
    assert tree(elsewhere) == {"case.png": "theirs"}  # a link is replaced, not followed


@pytest.mark.parametrize("earlier", ["folder", "file", "link"])
def test_publish_directory_failing_puts_the_earlier_version_back(tmp_path, earlier):
    results = tmp_path / "results"
    elsewhere = tmp_path / "user_data"
    make_folder(elsewhere, {"case.png": "theirs"})
    results.mkdir()
    target = results / "fold_0"
    if earlier == "folder":
        make_folder(target, {"case.png": "old"})
    elif earlier == "file":
        target.write_text("old")
    else:
        target.symlink_to(elsewhere)
    vanished = results / ".fold_0.staging"  # e.g. removed by a cleanup meanwhile
    with pytest.raises(FileNotFoundError):
        publish_directory(vanished, target)
    assert entries(results) == ["fold_0"]
    if earlier == "folder":
        assert tree(target) == {"case.png": "old"}
    elif earlier == "file":
        assert target.read_text() == "old"
    else:
        assert target.is_symlink() and target.resolve() == elsewhere.resolve()
