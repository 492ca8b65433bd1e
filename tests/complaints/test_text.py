# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""Reading text in English and Chinese for the knowledge base: search terms and diff pieces."""

from complaints import text


def test_chinese_is_cut_into_bigrams_and_english_into_words_without_stop_words():
    assert text.bigrams("洗衣机噪音，很") == ["洗衣", "衣机", "机噪", "噪音", "很"]
    assert text.words("The DRUM bangs on the W-200's spin!") == ["drum", "bangs", "200", "spin"]


def test_a_long_text_gives_a_bounded_number_of_terms():
    words, bigrams = text.terms(" ".join(f"word{i}" for i in range(500)) + "噪音" * 400)

    assert len(words) == text.MAX_WORDS
    assert len(bigrams) <= text.MAX_BIGRAMS


def test_diff_pieces_give_the_text_back():
    sample = "Replace the bearing 轴承，两天内 (W-200)\n\tdone_now."
    assert "".join(text.diff_pieces(sample)) == sample
    assert "轴" in text.diff_pieces(sample)
