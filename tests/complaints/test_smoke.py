from complaints.models import Step

from ..factories import walk


def test_a_case_walks_to_closed(case, agent, handler, after_sales):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert case.events.count() == 8
