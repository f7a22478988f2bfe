"""Reading the data contract's CSV files: one-line errors naming file, row and column."""

import io

import pytest

from analysis.io import InputError, read_participants, read_ranges, read_scores, read_sessions


def csv(text: str) -> io.StringIO:
    return io.StringIO(text)


def test_scores_read_with_empty_score_or_r_na_as_missing():
    frame = read_scores(csv("participant_id,arm,timepoint,measure,score\n"
                            "P1,CFT,pre,BDI-II,30\nP1,CFT,post,BDI-II,\nP1,CFT,fu,BDI-II,NA\n"))
    assert frame["score"].isna().tolist() == [False, True, True]


def test_byte_order_mark_and_spaces_are_tolerated():
    frame = read_scores(csv("\ufeffparticipant_id, arm ,timepoint,measure,score\n"
                            "P1, CFT ,pre,BDI-II, 30 \n"))
    assert frame.loc[0, "arm"] == "CFT" and frame.loc[0, "score"] == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("participant_id,arm,timepoint,measure,score\nP1,CFT,pre,BDI-II,30\nP1,CFT,pre,BDI-II,31\n",
         "scores.csv, row 3, column 'participant_id': second score for P1 at pre on BDI-II"),
        ("participant_id,arm,timepoint,measure,score\n,CFT,pre,BDI-II,30\n",
         "scores.csv, row 2, column 'participant_id': empty value"),
        ("participant_id,arm,timepoint,measure,score\nP1,CFT,pre,BDI-II,3O\n",
         "scores.csv, row 2, column 'score': not a number: '3O'"),
        ("participant_id,arm,timepoint,measure,score\nP1,CFT,pre,m,1\nP1,UC,post,m,2\n",
         "scores.csv, row 3, column 'arm': participant P1 appears in two arms"),
    ],
)
def test_score_errors(text, message):
    with pytest.raises(InputError) as err:
        read_scores(csv(text))
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_participant_errors():
    with pytest.raises(InputError, match=r"participants.csv, row 3, column 'status': unknown "
                                         r"status 'dropped'"):
        read_participants(csv("participant_id,arm,status,gender,age\nP1,CFT,completed,f,30\n"
                              "P2,UC,dropped,m,41\n"))
    with pytest.raises(InputError, match=r"row 3, column 'participant_id': duplicate"):
        read_participants(csv("participant_id,arm,status,gender,age\nP1,CFT,completed,f,30\n"
                              "P1,UC,lost,m,41\n"))
    with pytest.raises(InputError, match=r"row 1, column 'age': missing column"):
        read_participants(csv("participant_id,arm,status,gender\nP1,CFT,completed,f\n"))


def test_extra_numeric_baseline_columns_become_numbers():
    frame = read_participants(csv("participant_id,arm,status,gender,age,income,site\n"
                                  "P1,CFT,completed,f,30,1200,north\nP2,UC,lost,,41,,south\n"))
    assert frame["income"].tolist()[0] == 1200 and frame["income"].isna().tolist()[1]
    assert frame["site"].tolist() == ["north", "south"]
    assert frame["gender"].isna().tolist() == [False, True]


def test_session_adherence_must_be_a_share():
    with pytest.raises(InputError, match=r"sessions.csv, row 2, column 'adherence'"):
        read_sessions(csv("meeting,status,adherence\n1,held,80\n"))


SCORES = "participant_id,arm,timepoint,measure,score\n"


@pytest.mark.parametrize("code", ["-99", "999", "-9", "9999"])
def test_a_missing_value_code_is_an_error_naming_the_row(code):
    # R's read.csv takes -99 as a BDI-II score of -99 and every mean with it; we must not.
    with pytest.raises(InputError) as err:
        read_scores(csv(SCORES + "P1,CFT,pre,BDI-II,30\nP2,CFT,pre,BDI-II," + code + "\n"))
    assert str(err.value) == (
        f"scores.csv, row 3, column 'score': {code} looks like a missing-value code; a "
        "missing score is an empty cell (or give the range of BDI-II)")


def test_scores_outside_the_measure_s_range_are_errors():
    ranges = read_ranges(csv("measure,min,max\nBDI-II,0,63\nSCS.total,1,5\n"))
    assert ranges == {"BDI-II": (0.0, 63.0), "SCS.total": (1.0, 5.0)}
    text = SCORES + "P1,CFT,pre,BDI-II,63\nP1,CFT,pre,SCS.total,5.2\n"
    with pytest.raises(InputError) as err:
        read_scores(csv(text), ranges=ranges)
    assert str(err.value) == ("scores.csv, row 3, column 'score': 5.2 is outside the range of "
                              "SCS.total (1 to 5); a missing score is an empty cell")
    # within range: read; a stated range replaces the missing-code guess (999 on a 0-1000 scale)
    frame = read_scores(csv(SCORES + "P1,CFT,pre,steps,999\n"), ranges={"steps": (0, 1000)})
    assert frame.loc[0, "score"] == 999
    assert read_scores(csv(text.replace("5.2", "4.5")), ranges=ranges)["score"].tolist() == [
        63, 4.5]


def test_range_file_errors():
    with pytest.raises(InputError, match=r"ranges.csv, row 2, column 'max': max is below min"):
        read_ranges(csv("measure,min,max\nBDI-II,63,0\n"))
    with pytest.raises(InputError, match=r"ranges.csv, row 3, column 'measure': second range"):
        read_ranges(csv("measure,min,max\nBDI-II,0,63\nBDI-II,0,60\n"))
