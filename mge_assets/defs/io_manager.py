"""Asset values on disk, one file per asset and partition: DataFrames as Parquet, records as JSON."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import BaseModel

from mge_assets.canary.digest import output_digest


class MgeIOManager(dg.ConfigurableIOManager):
    """Writes `<base_dir>/<asset>/<partition>.parquet|.json`; reads a record back as the type its
    consumer annotates, so every stage receives typed values."""

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext, suffix: str) -> Path:
        partition = context.asset_partition_key if context.has_asset_partitions else "all"
        return Path(self.base_dir, *context.asset_key.path, f"{partition}{suffix}")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if isinstance(obj, pd.DataFrame):
            path, data = self._path(context, ".parquet"), None
        else:
            path = self._path(context, ".json")
            data = obj.model_dump_json() if isinstance(obj, BaseModel) else json.dumps(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        if data is None:
            obj.to_parquet(temporary, index=False)
        else:
            temporary.write_text(data)
        temporary.replace(path)
        # the digest lets a canary name the first stage whose output changed since its baseline
        context.add_output_metadata({"stored_at": dg.MetadataValue.path(str(path)), "digest": output_digest(obj)})

    def load_input(self, context: dg.InputContext) -> Any:
        partition = context.asset_partition_key if context.has_asset_partitions else "all"
        return self.stored(context.asset_key, partition, context.dagster_type.typing_type)

    def stored(self, asset: dg.AssetKey, partition: str, expected: Any = None) -> Any:
        """The stored value of `asset` for `partition`, as `expected` when that is a record type (the
        way the reports over several partitions, e.g. a dual-run's two modes, read them)."""
        parquet = Path(self.base_dir, *asset.path, f"{partition}.parquet")
        record = parquet.with_suffix(".json")
        if parquet.exists():
            return pd.read_parquet(parquet)
        if not record.exists():
            raise FileNotFoundError(
                f"no stored value for {asset.to_user_string()} partition {partition}; materialize it first"
            )
        if isinstance(expected, type) and issubclass(expected, BaseModel):
            return expected.model_validate_json(record.read_text())
        return json.loads(record.read_text())
