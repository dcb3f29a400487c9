# newsbot in a container. Each `docker run` is one `newsbot run`, scheduled from the host (cron or a
# systemd timer), like the installed command. The folder holding newsbot.yaml and its watchlists is
# mounted at /etc/newsbot; the database is written beside the config (database: newsbot.db), so it
# lives on the host and survives the container:
#   docker build -t newsbot .
#   docker run --rm -v /etc/newsbot:/etc/newsbot --env-file /etc/newsbot/slack.env newsbot
#   docker run --rm -v /etc/newsbot:/etc/newsbot --env-file /etc/newsbot/slack.env newsbot slack-test
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml requirements.txt README.md LICENSE ./
COPY newsbot/ newsbot/
COPY alerts/ alerts/
COPY spiders/ spiders/
COPY demo/ demo/
COPY examples/ examples/
# requirements.txt as constraints: the runtime dependencies at their pinned versions, and none of the
# test and benchmark tools it also lists. A wheel install, not editable: /src is gone afterwards.
RUN pip install --constraint requirements.txt . && rm -rf /src

# Not root. The mounted folder must be writable by this uid (`chown -R 10001 /etc/newsbot` on the host),
# or run the container with `--user` as the folder's owner.
RUN useradd --uid 10001 --create-home newsbot
USER 10001
# Commands other than `run` (`check`, `status`, `slack-test`) find ./newsbot.yaml here without --config.
WORKDIR /etc/newsbot
ENTRYPOINT ["newsbot"]
CMD ["run", "--config", "/etc/newsbot/newsbot.yaml"]
