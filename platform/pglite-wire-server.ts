import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const sslRequestCode = 80877103;
const gssEncRequestCode = 80877104;
const cancelRequestCode = 80877102;

/**
 * Messages after which a client waits for the server's answer: a client's messages up to one of these are one unit
 * (Parse, Bind, Describe, Execute, Sync; or a simple Query), and run together.
 */
const unitEnds = new Set(['S', 'Q', 'H', 'c', 'f']);

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  buffer: Buffer;
  started: boolean;
  /** Messages of the unit being received. */
  pending: Uint8Array[];
  closed: boolean;
}

interface Unit {
  readonly connection: Connection;
  readonly messages: readonly Uint8Array[];
}

/**
 * PGlite (one PostgreSQL session in WebAssembly) served over the PostgreSQL wire protocol to any number of clients.
 * Each client's unit of messages (an extended-protocol cycle up to Sync, or a simple Query) runs whole, never
 * interleaved with another client's: otherwise one client's Bind lands on another's Parse, and queries fail or,
 * worse, answer with the wrong parameters. While a client has a transaction open, only that client's units run, so
 * no one else's statement runs inside it; a client that disconnects mid-transaction has it rolled back.
 */
export class PgliteWireServer {
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  private readonly queue: Unit[] = [];
  private running = false;
  /** The client whose transaction is open, if any. */
  private owner: Connection | null = null;
  private nextId = 1;

  constructor(
    private readonly db: PGlite,
    private readonly options: { host: string; port: number; onError?: (error: unknown) => void },
  ) {}

  async start(): Promise<void> {
    await this.db.waitReady;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const connection: Connection = {
      id: this.nextId++,
      socket,
      buffer: Buffer.alloc(0),
      started: false,
      pending: [],
      closed: false,
    };
    this.connections.add(connection);
    socket.on('data', (chunk: Buffer) => {
      connection.buffer = connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
      this.read(connection);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.closed(connection));
  }

  /** Splits the buffered bytes into messages and queues each complete unit. */
  private read(connection: Connection): void {
    for (;;) {
      const buffer = connection.buffer;
      if (!connection.started) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        const code = buffer.readInt32BE(4);
        if (buffer.length < length) return;
        connection.buffer = buffer.subarray(length);
        if (code === sslRequestCode || code === gssEncRequestCode) {
          connection.socket.write('N');
          continue;
        }
        if (code === cancelRequestCode) continue;
        connection.started = true;
        this.enqueue({ connection, messages: [new Uint8Array(buffer.subarray(0, length))] });
        continue;
      }
      if (buffer.length < 5) return;
      const size = 1 + buffer.readInt32BE(1);
      if (buffer.length < size) return;
      const type = String.fromCharCode(buffer[0]!);
      connection.buffer = buffer.subarray(size);
      if (type === 'X') {
        connection.socket.end();
        return;
      }
      connection.pending.push(new Uint8Array(buffer.subarray(0, size)));
      if (unitEnds.has(type)) {
        const messages = connection.pending;
        connection.pending = [];
        this.enqueue({ connection, messages });
      }
    }
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    void this.pump();
  }

  /** Runs queued units one at a time; while a transaction is open, only its owner's. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const owner = this.owner;
        const at = owner
          ? this.queue.findIndex((u) => u.connection === owner)
          : this.queue.length > 0
            ? 0
            : -1;
        if (at < 0) return;
        const [unit] = this.queue.splice(at, 1);
        if (!unit || unit.connection.closed) continue;
        await this.run(unit);
        this.owner = this.db.isInTransaction() && !unit.connection.closed ? unit.connection : null;
        if (this.db.isInTransaction() && unit.connection.closed) await this.rollback();
      }
    } finally {
      this.running = false;
    }
  }

  private async run(unit: Unit): Promise<void> {
    const { socket } = unit.connection;
    try {
      await this.db.runExclusive(async () => {
        for (const message of unit.messages) {
          await this.db.execProtocolRawStream(message, {
            onRawData: (data) => {
              if (!unit.connection.closed && socket.writable) socket.write(Buffer.from(data));
            },
          });
        }
      });
    } catch (error) {
      this.options.onError?.(error);
      socket.destroy();
    }
  }

  private async rollback(): Promise<void> {
    try {
      await this.db.exec('ROLLBACK');
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private async closed(connection: Connection): Promise<void> {
    connection.closed = true;
    this.connections.delete(connection);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.connection === connection) this.queue.splice(i, 1);
    }
    if (this.owner === connection && !this.running) {
      this.owner = null;
      if (this.db.isInTransaction()) await this.rollback();
      void this.pump();
    }
  }
}
