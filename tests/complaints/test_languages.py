"""Which of the shipped languages a text is written in (complaints.languages)."""

from complaints.languages import language_guess


def test_the_language_is_the_one_most_of_the_text_is_in():
    assert language_guess("The drum bangs on every spin.") == "en"
    assert language_guess("洗衣机 W-200 滚筒噪音很大") == "zh-hans"
    assert language_guess("Li Na (李娜) says the drum bangs on every spin cycle.") == "en"
    assert language_guess("") == "en"
