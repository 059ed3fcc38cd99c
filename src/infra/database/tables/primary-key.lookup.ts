import type { ObjectLiteral, Repository } from 'typeorm';

/**
 * A find by primary key for the hot path (every authenticated request reads its author): the SQL
 * is built once from the entity's metadata and the row hydrated column by column through the
 * driver (types and transformers as TypeORM applies them), instead of a query builder per call,
 * which cost ~10 % of a loaded instance's CPU (docs/PERFORMANCE.md, "What was made faster").
 * Selects exactly what `findOneBy` would (columns with `select: false` are left out).
 */
export class PrimaryKeyLookup<Entity extends ObjectLiteral> {
  private readonly sql: string;
  private readonly columns: Repository<Entity>['metadata']['columns'];

  constructor(private readonly repository: Repository<Entity>) {
    const { metadata } = repository;
    const [key] = metadata.primaryColumns;
    const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const columns = (this.columns = metadata.columns.filter((column) => column.isSelect));
    this.sql =
      `SELECT ${columns.map((column) => quote(column.databaseName)).join(', ')} ` +
      `FROM ${quote(metadata.tableName)} WHERE ${quote(key.databaseName)} = $1`;
  }

  async find(id: unknown): Promise<Entity | null> {
    const [row] = (await this.repository.query(this.sql, [id])) as Record<string, unknown>[];
    if (!row) return null;
    const { metadata, manager } = this.repository;
    const entity = metadata.create() as Entity;
    for (const column of this.columns) {
      column.setEntityValue(
        entity,
        manager.connection.driver.prepareHydratedValue(row[column.databaseName], column),
      );
    }
    return entity;
  }
}
