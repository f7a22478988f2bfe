"""Reading the data contract's CSV files: one-line errors naming file, row and column."""

import io

import pytest

from analysis.io import InputError, read_participants, read_scores, read_sessions


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
