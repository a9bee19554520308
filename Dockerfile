# LeadLoop image: one image for web (gunicorn), worker and beat (celery) and the migrate job.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext is optional: the compiled .mo files are committed. Build with
# `--build-arg WITH_GETTEXT=1` to recompile them inside the image.
ARG WITH_GETTEXT=0
RUN if [ "$WITH_GETTEXT" = "1" ]; then \
        apt-get update && apt-get install -y --no-install-recommends gettext \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && groupadd --system leadloop \
    && useradd --system --gid leadloop --home-dir /app --no-create-home leadloop

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Editable, so the code (templates, static, locale beside it) is used in place from /app.
RUN pip install --no-deps -e . \
    && if command -v msgfmt >/dev/null; then python manage.py compilemessages -v 0; fi \
    && STATIC_MANIFEST=1 python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/media \
    && chown -R leadloop:leadloop /app/staticfiles /app/media

USER leadloop
ENV PORT=8000 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media \
    CELERY_BEAT_SCHEDULE_FILENAME=/tmp/celerybeat-schedule
EXPOSE 8000
CMD ["gunicorn", "--config", "pipeline/gunicorn.conf.py", "pipeline.wsgi"]
