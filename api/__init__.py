"""The REST API under /api/v1/ (Django REST framework): what an agent can do in the browser, for
integrations. Thin: each view checks access with ``complaints.access``, calls one service of the
domain apps and serializes the result. It imports the domain apps; none of them imports it."""
