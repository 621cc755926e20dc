"""The query engine: CloudTower (Prisma 1) where / orderBy / pagination as pure functions."""

from .model import FieldDesc, RelationDesc, ModelDesc, QuerySchema, DataSource, DictSource, QueryError

__all__ = ["FieldDesc", "RelationDesc", "ModelDesc", "QuerySchema", "DataSource", "DictSource", "QueryError"]
