#!/usr/bin/env python3
"""Writes workloads/padding/corpus.json: neutral material that `--vary context=`
(and --context N) adds to a task's system prompt and tool list to grow it to a
given size, so that one sweep measures success and joules against context
size on the same tasks ("context rot"). Written for agentperf; deterministic
(no randomness), so the committed file regenerates byte for byte:

    python3 scripts/gen-padding-corpus.py > workloads/padding/corpus.json

The material describes a fictional water utility that no workload task is
about: distractor tool definitions (none of which any task needs) and
handbook sections (none of which any task's answer depends on). agentperf
picks from it in an order fixed by the seed (harness/load/pad.c).
"""
import json

AREAS = [
    ("meters", "Metering", ["meter", "reading", "seal"]),
    ("mains", "Water mains", ["pipe_segment", "valve", "hydrant"]),
    ("quality", "Water quality", ["sample", "lab_result", "advisory"]),
    ("crews", "Field crews", ["crew", "work_order", "vehicle"]),
    ("tariffs", "Tariffs", ["tariff", "rebate"]),
    ("outages", "Outages", ["outage", "notice"]),
    ("assets", "Asset register", ["pump_station", "reservoir", "tank"]),
    ("permits", "Permits", ["dig_permit", "discharge_permit"]),
]
VERBS = ["lookup", "search", "schedule", "archive", "transfer", "annotate"]


def tool(area, title, entity, verb):
    w = entity.replace("_", " ")
    code = entity[:3].upper()
    idp = {"type": "string", "description": f"Identifier of the {w}, for example LW-{code}-0193."}
    if verb == "lookup":
        desc = (f"{title}: look up one {w} of the Lakeside Water Authority by its identifier. "
                f"Read-only. Returns every recorded field of the {w} and the date it was last inspected.")
        props = {f"{entity}_id": idp,
                 "with_inspections": {"type": "boolean", "description": "Also return past inspections (default false)."}}
        req = [f"{entity}_id"]
    elif verb == "search":
        desc = (f"{title}: search {w} records of the Lakeside Water Authority by district and status. "
                f"Read-only, paged; filters combine with AND.")
        props = {"district": {"type": "string", "enum": ["north", "harbour", "old_town", "hills"], "description": "Service district."},
                 "status": {"type": "string", "enum": ["active", "retired", "under_review"], "description": "Record status."},
                 "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."}}
        req = []
    elif verb == "schedule":
        desc = (f"{title}: schedule an inspection of a {w}. Writes data; the dispatcher confirms the slot "
                f"within one working day. Slots are two hours long and start on the hour.")
        props = {f"{entity}_id": idp,
                 "date": {"type": "string", "description": "Inspection date, YYYY-MM-DD."},
                 "slot_start_hour": {"type": "integer", "minimum": 7, "maximum": 16, "description": "Start hour, 7 to 16."}}
        req = [f"{entity}_id", "date"]
    elif verb == "transfer":
        desc = (f"{title}: transfer responsibility for a {w} to another depot. Writes data; both depot "
                f"managers are notified and the {w} keeps its identifier and history.")
        props = {f"{entity}_id": idp,
                 "to_depot": {"type": "string", "enum": ["north_depot", "harbour_depot", "hills_depot"], "description": "Receiving depot."},
                 "effective": {"type": "string", "description": "Date the transfer takes effect, YYYY-MM-DD (default today)."}}
        req = [f"{entity}_id", "to_depot"]
    elif verb == "annotate":
        desc = (f"{title}: add a free-text note to a {w} record, visible to every crew. Notes cannot be "
                f"edited once saved; add a new note to correct one.")
        props = {f"{entity}_id": idp,
                 "note": {"type": "string", "description": "The note, 1 to 2000 characters."},
                 "pinned": {"type": "boolean", "description": "Show the note above all others (default false)."}}
        req = [f"{entity}_id", "note"]
    else:
        desc = (f"{title}: archive a {w} that is no longer in service. Irreversible without a supervisor; "
                f"the record stays readable for seven years.")
        props = {f"{entity}_id": idp,
                 "reason": {"type": "string", "description": "Why the record is archived, 10 to 300 characters."}}
        req = [f"{entity}_id", "reason"]
    return {"type": "function", "function": {"name": f"lw_{area}_{verb}_{entity}",
                                             "description": desc,
                                             "parameters": {"type": "object", "properties": props, "required": req}}}


def docs():
    out = []
    for n, (area, title, entities) in enumerate(AREAS, 1):
        for m, e in enumerate(entities, 1):
            w = e.replace("_", " ")
            out.append(
                f"### LW {n}.{m} {title}: {w} records\n"
                f"Every {w} of the Lakeside Water Authority carries an identifier of the form LW-{e[:3].upper()}-NNNN. "
                f"Field staff record a {w} when it is first commissioned and update it after each inspection. "
                f"An inspection that finds a defect opens a work order within two working days; a defect that "
                f"threatens supply is escalated to the duty engineer at once. Records of a {w} in the hills district "
                f"are reviewed every spring, the others every autumn. Archived {w} records stay readable for seven "
                f"years and are then removed by the records office, which keeps a one-line summary of each.")
            out.append(
                f"### LW {n}.{m}.1 Reporting on {w} records\n"
                f"The monthly {title.lower()} report lists new, changed and archived {w} records per district, "
                f"with the inspection backlog and the oldest open work order. Figures in the report are taken on "
                f"the last working day of the month at 18:00 and are not revised afterwards; corrections appear "
                f"in the next month's report with a note. The report goes to the operations board and is "
                f"published in shortened form on the authority's website.")
            out.append(
                f"### LW {n}.{m}.2 Handling a {w} during an outage\n"
                f"While an outage notice covers the district of a {w}, crews may not close it out or archive it, "
                f"and scheduled inspections move to the first free slot after the notice is lifted. The outage "
                f"coordinator may grant an exception in writing; the exception is attached to the {w} record as "
                f"a pinned note. After the outage the {w} is inspected before it returns to normal service, and "
                f"the inspection result is copied into the outage's closing report.")
    return out


tools = [tool(a, t, e, v) for a, t, ents in AREAS for e in ents for v in VERBS]
corpus = {
    "agentperf_padding": 1,
    "source": "written for agentperf (generated by scripts/gen-padding-corpus.py)",
    "license": "CC0-1.0",
    "description": "Neutral context padding: distractor tools and handbook sections of a fictional water utility that no task is about.",
    "tools": tools,
    "docs": docs(),
}
print(json.dumps(corpus, indent=1, sort_keys=True))
