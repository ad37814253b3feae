"""The REST API's request and response bodies (pydantic only; they drive the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mimica.scan.result import ScanResult, Verdict
from mimica.web.store import Job

Status = Literal["queued", "running", "done", "failed"]


class ScanCreated(BaseModel):
    id: str
    status: Status = "queued"
    url: str = Field(description="where to poll the job")


class Progress(BaseModel):
    stage: str = Field(description="starting, frames, report, done (or queued/failed)")
    done: int
    total: int


class ScanOut(BaseModel):
    id: str
    filename: str = Field(description="the uploaded file's name, as display text")
    status: Status
    progress: Progress
    verdict: Verdict | None = None
    probability: float | None = None
    result: ScanResult | None = Field(None, description="the per-file object of `mimica scan --json`")
    error: str | None = Field(None, description="why the job failed (or why its report is missing)")
    note: str = ""
    report_url: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def of(cls, job: Job) -> ScanOut:
        result = ScanResult.model_validate_json(job.result) if job.result else None
        return cls(
            id=job.id, filename=job.filename, status=job.status,  # type: ignore[arg-type]
            progress=Progress(stage=job.stage, done=job.done, total=job.total), verdict=job.verdict,  # type: ignore[arg-type]
            probability=job.probability, result=result, error=job.error, note=job.note,
            report_url=f"/api/scans/{job.id}/report" if job.report_path else None,
            created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
        )


class ScanSummary(BaseModel):
    id: str
    filename: str
    status: Status
    verdict: Verdict | None = None
    probability: float | None = None
    error: str | None = None
    created_at: str
    finished_at: str | None = None

    @classmethod
    def of(cls, job: Job) -> ScanSummary:
        return cls(id=job.id, filename=job.filename, status=job.status, verdict=job.verdict,  # type: ignore[arg-type]
                   probability=job.probability, error=job.error, created_at=job.created_at,
                   finished_at=job.finished_at)


class ScanList(BaseModel):
    items: list[ScanSummary]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Problem(BaseModel):
    detail: str
