"""The peer of bench/serving.ts: FastAPI + onnxruntime serving the same ONNX file with the same row JSON.

    SERVING_MODEL=path/to/model.onnx python3 bench/serving_fastapi.py --port 8091 --workers 2

POST /v1/models/{name}/predict with {"rows": [{feature: value, ...}]} answers, per row, the probability of class 1,
the label, the version and a request id, as the Slipway gateway does. Written the way a FastAPI service usually is:
a pydantic body model, one session.run per request, uvicorn with one worker process per core. It validates the
rows against the model's inputs (missing, extra and non-numeric features get 422) but keeps no prediction log.
"""

import argparse
import os
import uuid
from typing import Dict, List, Optional

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI()
_session: Optional[ort.InferenceSession] = None
_inputs: List[str] = []


class Body(BaseModel):
    rows: List[Dict[str, Optional[float]]]


def session() -> ort.InferenceSession:
    global _session, _inputs
    if _session is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        _session = ort.InferenceSession(os.environ["SERVING_MODEL"], options, providers=["CPUExecutionProvider"])
        _inputs = [i.name for i in _session.get_inputs()]
    return _session


@app.get("/health")
def health() -> dict:
    session()
    return {"ok": True}


@app.post("/v1/models/{name}/predict")
def predict(name: str, body: Body) -> dict:
    s = session()
    if not body.rows:
        raise HTTPException(status_code=422, detail="rows: expected at least one row")
    for i, row in enumerate(body.rows):
        if set(row) != set(_inputs):
            raise HTTPException(status_code=422, detail=f"rows.{i}: expected exactly the features {_inputs}")
    feeds = {
        f: np.array([[np.nan if r[f] is None else r[f]] for r in body.rows], dtype=np.float32) for f in _inputs
    }
    probabilities = s.run(["probabilities"], feeds)[0]
    return {
        "model": name,
        "predictions": [
            {"requestId": str(uuid.uuid4()), "version": 1, "probability": float(p[1]), "label": "1" if p[1] > p[0] else "0"}
            for p in probabilities
        ],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("serving_fastapi:app", host="127.0.0.1", port=args.port, workers=args.workers, log_level="warning", access_log=False)
