"""Fixtures for the analysis tests: the bundled CSV data sets (reference numbers from R)."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


@pytest.fixture
def cft_scores() -> pd.DataFrame:
    return load("cft_scores.csv")


@pytest.fixture
def cft_participants() -> pd.DataFrame:
    return load("cft_participants.csv")


@pytest.fixture
def cft3_scores() -> pd.DataFrame:
    return load("cft3_scores.csv")


@pytest.fixture
def cft3_participants() -> pd.DataFrame:
    return load("cft3_participants.csv")
