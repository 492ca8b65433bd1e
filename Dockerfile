# Heed's production image: gunicorn (web), Celery worker and Celery beat all run from it; see
# docker-compose.yml. Settings come from the environment (DEBUG is off here, so SECRET_KEY and
# ALLOWED_HOSTS must be given at run time).

# 1. The front-end packages (htmx, Pico CSS) from the npm registry, as package-lock.json pins them
#    (not the tests' own: axe-core is a dev dependency).
FROM node:22-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# 2. Heed and its dependencies in a virtualenv; translations compiled, static files collected.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /app
# Dependencies first, read from pyproject.toml alone, so that a code-only change reuses this
# layer; then the whole build context (.dockerignore says what stays out) and Heed itself.
# CI builds the wheel from exactly this context and these steps (tests/test_deploy.py).
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY . .
RUN pip install --no-deps .
COPY --from=assets /app/node_modules ./node_modules
# Production settings need a key and hosts to load; these build-time ones are thrown away.
RUN export DEBUG=false SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build.invalid \
        HEED_VAR_DIR=/tmp/heed-build PYTHONPATH=/app \
 && python manage.py compilemessages --ignore=node_modules -v 0 \
 && python manage.py collectstatic --no-input -v 0

# 3. The runtime image: no compilers, no node, no gettext; runs as an unprivileged user.
# PYTHONPATH: the code under /app is what runs (not the copy pip installed), so that BASE_DIR
# (templates, locale, collected static files) is /app for gunicorn and Celery alike.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    HEED_VAR_DIR=/var/lib/heed \
    DEBUG=false \
    PORT=8000
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/heed \
        --shell /usr/sbin/nologin heed \
 && install -d -o heed -g heed /var/lib/heed/attachments
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER heed
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--access-logfile", "-"]
