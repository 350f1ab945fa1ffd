# ci-tags' own image: ci-tags and buildah, for every job of templates/pipeline.yml (install: image).
# Built and published by this project's own pipeline with its own component (.gitlab-ci.yml, ci-tags.yml).
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends buildah ca-certificates git python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY ci_tags /src/ci_tags
RUN python3 -m venv /opt/ci-tags \
 && /opt/ci-tags/bin/pip install --no-cache-dir /src \
 && rm -rf /src \
 && /opt/ci-tags/bin/ci-tags --version
# buildah inside a CI job: no overlay mounts and no user namespaces there, so vfs storage and chroot isolation
ENV PATH=/opt/ci-tags/bin:$PATH STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
CMD ["ci-tags", "--help"]
