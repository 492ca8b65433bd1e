"""The production set-up: docker-compose.yml and the Dockerfile. Docker itself cannot run in
our CI; these tests hold the files to what production needs, .ci/run runs the same web and
worker commands, and the Dockerfile's collectstatic step is run here for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.conf import settings

from .docker_build import build_play, context_copy

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")
SETTINGS_FROM_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "TIME_ZONE",
    "EMAIL_URL",
    "SITE_URL",
)
# Interpolated with ${VAR:?...}: compose refuses to start without them.
REQUIRED_SECRETS = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "SITE_URL",
    "POSTGRES_PASSWORD",
    "APP_DB_PASSWORD",
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def _database_user(url: str) -> str:
    """The role a postgres://role:${PASSWORD…}@host/db URL names (urlsplit would stop at the
    interpolation's ``?``)."""
    return url.split("://", 1)[1].split(":", 1)[0]


def test_compose_runs_postgres_redis_web_worker_and_beat_each_with_a_health_check(services):
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert name in services, name
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"


def test_compose_uses_postgres_17_and_redis_7(services):
    assert services["postgres"]["image"].startswith("postgres:17")
    assert services["redis"]["image"].startswith("redis:7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_web_is_gunicorn_serving_config_wsgi_and_checked_on_healthz(services):
    web = services["web"]
    # With config/gunicorn.py, which sums the workers' /metrics through PROMETHEUS_MULTIPROC_DIR.
    assert _command(web).startswith("gunicorn --config python:config.gunicorn config.wsgi")
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    check = web["healthcheck"]["test"]
    assert "/healthz" in " ".join(check)
    if check[:3] == ["CMD", "python", "-c"]:
        compile(check[3], "web healthcheck", "exec")  # the one-liner is valid Python


def test_worker_and_beat_run_the_config_celery_app(services):
    assert _command(services["worker"]).startswith("celery -A config worker")
    assert _command(services["beat"]).startswith("celery -A config beat")
    assert "celery -A config inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_migrations_run_once_before_the_app_starts(services):
    command = _command(services["migrate"])
    assert "manage.py migrate" in command
    assert command.index("manage.py migrate") < command.index("manage.py database_app_role")
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_app_services_get_production_settings_from_the_environment(services, name):
    environment = services[name]["environment"]
    for variable in SETTINGS_FROM_ENV:
        assert variable in environment, f"{name} lacks {variable}"
    assert str(environment["DEBUG"]).lower() == "false"
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_the_app_connects_as_its_own_role_and_only_migrate_as_the_owner(services):
    """The owner (POSTGRES_USER, a superuser) could disable the event log's trigger: only the
    one-shot migrate service connects as it, and makes the role the others connect as."""
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    migrate = services["migrate"]["environment"]
    assert _database_user(migrate["DATABASE_URL"]) == owner
    for name in APP_SERVICES:
        app_url = services[name]["environment"]["DATABASE_URL"]
        assert _database_user(app_url) == "heed_app" != owner, name
        assert app_url == migrate["APP_DATABASE_URL"], name
        assert "APP_DATABASE_URL" not in services[name]["environment"], name


def test_required_secrets_have_no_default(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in REQUIRED_SECRETS:
        assert f"${{{variable}:?" in text, f"{variable} should be required with ${{{variable}:?}}"
        assert f"${{{variable}:-" not in text, f"{variable} must not have a default"


def test_every_variable_passed_to_the_app_is_read_by_the_settings(services):
    """A misspelt variable would be silently ignored; gunicorn reads PORT and WEB_CONCURRENCY,
    prometheus_client PROMETHEUS_MULTIPROC_DIR."""
    source = (ROOT / "config" / "settings.py").read_text()
    for variable in services["web"]["environment"]:
        if variable in ("PORT", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"):
            continue
        assert f'"{variable}"' in source, f"settings do not read {variable}"


def test_dockerfile_installs_heed_with_assets_from_npm_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12-slim" in dockerfile
    assert "npm ci" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "collectstatic" in dockerfile
    assert "node_modules" in (ROOT / ".dockerignore").read_text()


def test_collectstatic_with_production_settings_gathers_htmx_pico_and_heed_css(tmp_path):
    """What the Dockerfile runs: with DEBUG off, whitenoise's manifest storage hashes every file
    (a CSS or JS file pointing at a missing one fails here, not in production)."""
    if not (ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js").exists():
        pytest.fail("node_modules is missing: run `make install` (npm ci) first")
    static_root = tmp_path / "static"
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "collectstatic-test-" + "x" * 40,
        "ALLOWED_HOSTS": "heed.example",
        "STATIC_ROOT": str(static_root),
        "HEED_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/htmx/htmx.min.js", "vendor/pico/pico.min.css", "heed/heed.css"):
        assert name in manifest, name
        assert (static_root / manifest[name]).is_file()
        assert (static_root / f"{manifest[name]}.gz").is_file()  # compressed for whitenoise


def test_the_image_s_build_stage_builds_heed_from_its_context(tmp_path):
    """The Dockerfile's build stage played on its build context (tests/docker_build.py): the
    wheel it builds holds every app of Heed's, and the context every folder the apps need."""
    [wheel] = build_play(ROOT, tmp_path)

    names = zipfile.ZipFile(wheel).namelist()
    ours = [c.name for c in apps.get_app_configs() if Path(c.path).parent == ROOT]
    assert len(ours) >= 9
    for name in ["config", *ours]:
        assert f"{name}/__init__.py" in names, f"{name} is not in the image's package"
    context = tmp_path / "context"
    for needed in ("manage.py", "templates", "static", "locale", "package.json"):
        assert (context / needed).exists(), f"{needed} is not in the build context"
    for kept_out in (".git", ".venv", "node_modules", "tests", "var"):
        assert not (context / kept_out).exists(), f"{kept_out} is in the build context"


def test_a_package_folder_the_build_context_lacks_fails_the_build(tmp_path):
    """The check above can fail: with improvement/ kept out, the wheel cannot be built."""
    root = tmp_path / "checkout"
    context_copy(ROOT, root)
    (root / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    (root / ".dockerignore").write_text((ROOT / ".dockerignore").read_text() + "\nimprovement\n")

    with pytest.raises(RuntimeError, match="improvement"):
        build_play(root, tmp_path / "work")


def test_attachments_are_on_a_volume_shared_by_web_and_worker(compose, services):
    """Recreating a container (every upgrade) must not throw the customers' files away."""
    root = services["web"]["environment"]["ATTACHMENTS_ROOT"]
    for name in ("web", "worker"):
        mounts = {
            volume.split(":")[1]: volume.split(":")[0] for volume in services[name]["volumes"]
        }
        assert mounts.get(root) == "attachments", (name, services[name]["volumes"])
    assert "attachments" in compose["volumes"]


def test_a_web_process_refuses_to_start_without_a_writable_attachments_folder(tmp_path):
    """config.wsgi runs the attachments check before gunicorn serves: a folder that cannot be
    made (a file stands where it should be; a read-only mount is the same to the check, but
    root, as CI runs, writes through file modes) stops the start, a writable one does not."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the volume should be")
    env = {**os.environ, "HEED_VAR_DIR": str(tmp_path / "var")}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def start(root: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", "import config.wsgi"],
            cwd=ROOT,
            env={**env, "ATTACHMENTS_ROOT": str(root)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = start(blocked / "attachments")
    started = start(tmp_path / "writable" / "attachments")

    assert refused.returncode != 0
    assert "heed.E001" in refused.stderr and "cannot be written to" in refused.stderr
    assert started.returncode == 0, started.stderr
