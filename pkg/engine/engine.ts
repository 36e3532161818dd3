// One command's handle on the store: the configuration, the database, the image and layer
// stores and the storage driver, each opened on first use so a command pays only for what it
// touches. CLI commands (and later the API server) reach the engine through this.
import { EngineConfig } from '../config/engine-config';
import { ConflictError } from '../errors';
import { ImageStore } from '../image/image-store';
import { Db, closeDatabase, openDatabase, writeTransaction } from '../state/database';
import { getDriver, probeDriver } from '../storage/driver-probe';
import { GraphDriver } from '../storage/graph-driver';
import { LayerStore } from '../storage/layer-store';

export class Engine {
  private database?: Db;
  private imageStore?: ImageStore;
  private graphDriver?: Promise<GraphDriver>;
  private layerStore?: LayerStore;

  constructor(readonly config: EngineConfig) {}

  get db(): Db {
    this.database ??= openDatabase(this.config.databasePath);
    return this.database;
  }

  get images(): ImageStore {
    this.imageStore ??= new ImageStore(this.db);
    return this.imageStore;
  }

  /** The storage driver, probed once per command and checked against the store's layer format. */
  driver(): Promise<GraphDriver> {
    this.graphDriver ??= (async () => {
      const { config } = this;
      const probed = await probeDriver({
        graphRoot: config.graphRoot,
        runRoot: config.runRoot,
        requested: config.storageDriver,
        mountProgram: config.storage.mountProgram,
      });
      const driver = getDriver(probed.name, { mountProgram: config.storage.mountProgram, runRoot: config.runRoot });
      this.checkLayerFormat(driver);
      return driver;
    })();
    return this.graphDriver;
  }

  async layers(): Promise<LayerStore> {
    const driver = await this.driver();
    this.layerStore ??= new LayerStore(this.db, this.config.graphRoot, driver);
    return this.layerStore;
  }

  /**
   * Layers extracted for one driver family cannot be used by another (vfs keeps full copies,
   * overlay keeps diffs), so the store remembers its format and refuses a mismatch.
   */
  private checkLayerFormat(driver: GraphDriver): void {
    const db = this.db;
    const row = db.prepare("SELECT value FROM settings WHERE key = 'layer-format'").get() as { value: string } | undefined;
    if (!row) {
      writeTransaction(db, () => db.prepare("INSERT OR IGNORE INTO settings (key, value) VALUES ('layer-format', ?)").run(driver.storageDir));
      return;
    }
    if (row.value !== driver.storageDir) {
      throw new ConflictError(
        `the store at ${this.config.graphRoot} holds ${row.value} layers, which the ${driver.name} storage driver cannot use: ` +
          `pass --storage-driver ${row.value === 'vfs' ? 'vfs' : 'overlay'}, choose another store with --root, or run "tspod system reset"`,
      );
    }
  }

  close(): void {
    if (this.database) closeDatabase(this.database);
    this.database = undefined;
  }
}
