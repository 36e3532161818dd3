// The database schema as an ordered list of migrations. PRAGMA user_version holds how many
// have run; each runs once, inside the same IMMEDIATE transaction that bumps the version, so
// a process killed mid-migration leaves the previous version intact. Never edit a migration
// that has shipped: add a new one.

export const MIGRATIONS: string[] = [
  // 1: the first schema: what images, containers, volumes, networks and exec need.
  `
  CREATE TABLE layers (
    id TEXT PRIMARY KEY,                 -- chain ID: identifies a layer on top of its parents
    parent TEXT REFERENCES layers(id),
    diff_id TEXT NOT NULL,               -- digest of the uncompressed tar
    compressed_digest TEXT,              -- digest of the blob it came from, if pulled
    compressed_size INTEGER,
    media_type TEXT,
    size INTEGER NOT NULL DEFAULT 0,     -- bytes on disk once extracted
    state TEXT NOT NULL DEFAULT 'incomplete', -- 'incomplete' until extraction finished
    created INTEGER NOT NULL
  );
  CREATE INDEX layers_parent ON layers(parent);
  CREATE INDEX layers_compressed ON layers(compressed_digest);

  CREATE TABLE images (
    id TEXT PRIMARY KEY,                 -- digest of the config blob (Docker's image ID)
    top_layer TEXT REFERENCES layers(id),
    config BLOB NOT NULL,                -- the exact config bytes, so digests reproduce
    manifest BLOB,                       -- the exact manifest bytes it was pulled or built with
    manifest_media_type TEXT,
    manifest_digest TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,            -- image creation time from its config (ms)
    added INTEGER NOT NULL,              -- when it entered this store (ms)
    parent TEXT,                         -- build parent, for untagged-parent removal
    extra TEXT NOT NULL DEFAULT '{}'     -- JSON for things later code needs
  );
  CREATE TABLE image_names (
    name TEXT PRIMARY KEY,               -- fully qualified, e.g. docker.io/library/alpine:latest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added INTEGER NOT NULL
  );
  CREATE INDEX image_names_image ON image_names(image_id);
  CREATE TABLE image_digests (
    repo_digest TEXT NOT NULL,           -- repository@sha256:manifest-digest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (repo_digest, image_id)
  );

  CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT REFERENCES images(id),
    image_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,                -- created, running, paused, stopping, exited, removing
    pid INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    started_at INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER NOT NULL DEFAULT 0,
    restart_count INTEGER NOT NULL DEFAULT 0,
    stopped_by_user INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL,                -- JSON: everything run/create was asked for
    state TEXT NOT NULL DEFAULT '{}'     -- JSON: runtime facts (mounts, ports, health, ...)
  );
  CREATE INDEX containers_image ON containers(image_id);

  CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL DEFAULT 'local',
    mountpoint TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    anonymous INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
  );

  CREATE TABLE networks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    config TEXT NOT NULL,                -- JSON: subnets, gateway, options, labels
    created INTEGER NOT NULL
  );
  CREATE TABLE container_networks (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    network TEXT NOT NULL REFERENCES networks(name),
    config TEXT NOT NULL DEFAULT '{}',   -- JSON: ip, mac, aliases
    PRIMARY KEY (container_id, network)
  );

  CREATE TABLE exec_sessions (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    config TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    created INTEGER NOT NULL
  );
  `,
  // 2: store-wide facts, such as the on-disk layer format the store was created with.
  `
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 3: the build cache: which intermediate image a build step produced on a given parent.
  `
  CREATE TABLE build_cache (
    parent TEXT NOT NULL,                -- the image the step ran on ('' for FROM scratch)
    step TEXT NOT NULL,                  -- sha256 of the step: instruction, args in use, sources
    image_id TEXT NOT NULL,              -- the step's result, an (intermediate) image
    created INTEGER NOT NULL,
    PRIMARY KEY (parent, step)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
