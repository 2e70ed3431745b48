"""The team store's schema in PostgreSQL: versioned like the local log's, applied by
`cc team init` (the administrator), checked by `cc doctor` and by each daemon.

Who sees what is the database's business, not ours: row-level security on every table.

    cc_agent   group role of the agents: each writes and reads its own calls (and its
               team's when the team allows it), never another's; reads the team table
    cc_lead    group role of the leads: reads the calls of the teams it leads, keeps
               those teams' rows of the agents table
    (owner)    the administrator's role that ran `cc team init` owns every object

An agent's PostgreSQL login role is named like its Infinity login (`cc team add-agent`),
so `current_user` is the agent in every policy. Card numbers are unique across the team:
each agent has a prefix of its own (the agents table), and the store makes every call's
number from that prefix and the agent's counter, trusting no client with it. A daemon
numbers a call the moment it starts, with the store perhaps down for days, so a team
sequence (one round trip a call) is no option.
"""

from __future__ import annotations

SCHEMA = "cc"
AGENT_ROLE, LEAD_ROLE = "cc_agent", "cc_lead"
MAX_SECONDS = 7 * 86400          # as the local log: no call lasts a week

# What a call carries into the team store: column -> PostgreSQL type. The identity
# (server, call_id, agent) and the counter are declared in the table itself.
CALL_COLUMNS = {
    "direction": "text not null check (direction in ('in', 'out', ''))",
    "number": "text", "number_key": "text", "extension": "text",
    "started_at": "timestamptz not null", "connected_at": "timestamptz",
    "ended_at": "timestamptz", "wait_seconds": "double precision",
    "talk_seconds": "double precision", "hold_seconds": "double precision",
    "processing_seconds": "double precision", "outcome": "text", "line_state": "text",
    "durations_from": "text", "end_reason": "text", "transfer_from": "text",
    "transfer_to": "text", "transfer_number": "text", "processing_started_at": "timestamptz",
    "processing_ended_at": "timestamptz", "dial_mode": "text", "group_number": "text",
    "contact": "text", "account": "text", "call_type": "text", "subject": "text",
    "result": "text", "notes": "text", "link_task": "text", "link_sale": "text",
    "link_project": "text", "link_project_path": "text", "link_incident": "text",
    "link_campaign": "text", "link_survey": "text", "updated_at": "timestamptz",
}
DURATIONS = ("wait_seconds", "talk_seconds", "hold_seconds", "processing_seconds")


def _v1() -> str:
    checks = ",\n".join(f"    check ({c} is null or ({c} >= 0 and {c} < {MAX_SECONDS}))"
                        for c in DURATIONS)
    columns = ",\n".join(f"    {name} {kind}" for name, kind in CALL_COLUMNS.items())
    return f"""
create table {SCHEMA}.teams (
    name text primary key check (length(name) between 1 and 100),
    lead name,
    agents_see_team boolean not null default false
);
create table {SCHEMA}.agents (
    login name primary key,
    team text not null references {SCHEMA}.teams (name) on update cascade,
    prefix text not null unique check (prefix ~ '^[A-Z][A-Z0-9]{{0,7}}$'),
    name text not null default '',
    -- The agent's extension, kept by the administrator or the lead (an agent that could
    -- set its own could take another's and claim the cards handed over to it).
    extension text unique check (length(extension) between 1 and 32)
);
create table {SCHEMA}.calls (
    id bigint generated always as identity primary key,
    server text not null,
    call_id text not null check (length(call_id) between 1 and 200),
    agent name not null default current_user references {SCHEMA}.agents (login),
    counter bigint not null check (counter > 0),
    counter_number text not null,
{columns},
{checks},
    unique (server, call_id, agent),
    unique (agent, counter),
    unique (counter_number)
);
create index calls_started on {SCHEMA}.calls (started_at);
create index calls_agent_started on {SCHEMA}.calls (agent, started_at);
create index calls_number_key on {SCHEMA}.calls (number_key);

-- The card number is the store's: the agent's prefix and its counter.
create function {SCHEMA}.number_call() returns trigger language plpgsql as $$
begin
    -- As the daemon's mask PREFIX-{{n:06}}: six digits at least, never cut.
    select prefix || '-' || case when new.counter < 1000000
                                 then lpad(new.counter::text, 6, '0')
                                 else new.counter::text end
      into new.counter_number
      from {SCHEMA}.agents where login = new.agent;
    if new.counter_number is null then
        raise exception 'agent % is not in the team table', new.agent
            using errcode = 'foreign_key_violation';
    end if;
    return new;
end $$;
create trigger calls_numbered before insert or update of counter, agent
    on {SCHEMA}.calls for each row execute function {SCHEMA}.number_call();

grant usage on schema {SCHEMA} to {AGENT_ROLE}, {LEAD_ROLE};
grant select on {SCHEMA}.teams, {SCHEMA}.agents to {AGENT_ROLE}, {LEAD_ROLE};
grant insert, update, delete on {SCHEMA}.agents to {LEAD_ROLE};
grant select, insert, update, delete on {SCHEMA}.calls to {AGENT_ROLE};
grant select on {SCHEMA}.calls to {LEAD_ROLE};

alter table {SCHEMA}.calls enable row level security;
alter table {SCHEMA}.agents enable row level security;
alter table {SCHEMA}.teams enable row level security;

-- The team table: everyone in it reads it; a lead keeps the rows of the teams it leads.
create policy read_all on {SCHEMA}.teams for select using (true);
create policy read_all on {SCHEMA}.agents for select using (true);
create policy lead_keeps on {SCHEMA}.agents for all to {LEAD_ROLE}
    using (team in (select name from {SCHEMA}.teams where lead = current_user))
    with check (team in (select name from {SCHEMA}.teams where lead = current_user));

-- Calls: an agent writes, changes and removes only its own rows; reads its own, and its
-- team's when the team allows it; a lead reads the calls of its teams' agents.
create policy own on {SCHEMA}.calls for all to {AGENT_ROLE}
    using (agent = current_user) with check (agent = current_user);
create policy team_reads on {SCHEMA}.calls for select to {AGENT_ROLE}
    using (agent in (select them.login from {SCHEMA}.agents me
                     join {SCHEMA}.teams t on t.name = me.team and t.agents_see_team
                     join {SCHEMA}.agents them on them.team = me.team
                     where me.login = current_user));
create policy lead_reads on {SCHEMA}.calls for select to {LEAD_ROLE}
    using (agent in (select a.login from {SCHEMA}.agents a
                     join {SCHEMA}.teams t on t.name = a.team
                     where t.lead = current_user));
"""


HANDOVER_WINDOW = "2 minutes"     # a transfer arrives this soon after its hand-over, or never
CARD_FIELDS = ("call_type", "subject", "result", "notes", "contact", "account",
               *(name for name in CALL_COLUMNS if name.startswith("link_")))


def _handovers() -> str:
    """The card follows a transfer: A writes a hand-over before it asks the server to
    transfer; B records each transferred call's arrival. Whichever comes second makes the
    match (target B's extension, same caller, A's extension where the server says it,
    the server's session id where both have one, within the window, nearest first), under
    a lock per target extension so two that come at once cannot miss each other."""
    return f"""
create table {SCHEMA}.handovers (
    id bigint generated always as identity primary key,
    from_agent name not null default current_user references {SCHEMA}.agents (login),
    from_extension text not null check (length(from_extension) between 1 and 32),
    target text not null check (length(target) between 1 and 64),
    caller text not null check (length(caller) between 1 and 64),
    call_id text not null check (length(call_id) between 1 and 200),
    seance text check (length(seance) between 1 and 200),
    made_at timestamptz not null default now(),
    card jsonb not null check (jsonb_typeof(card) = 'object'),
    claimed_by name,
    claimed_call_id text,
    claimed_at timestamptz,
    check ((claimed_by is null) = (claimed_at is null))
);
create index handovers_open on {SCHEMA}.handovers (target, made_at) where claimed_by is null;
create table {SCHEMA}.arrivals (
    id bigint generated always as identity primary key,
    agent name not null default current_user references {SCHEMA}.agents (login),
    extension text not null check (length(extension) between 1 and 32),
    caller text not null check (length(caller) between 1 and 64),
    from_extension text check (length(from_extension) between 1 and 32),
    call_id text not null check (length(call_id) between 1 and 200),
    seance text check (length(seance) between 1 and 200),
    arrived_at timestamptz not null default now(),
    handover bigint unique references {SCHEMA}.handovers (id) on delete set null,
    unique (agent, call_id)
);
create index arrivals_open on {SCHEMA}.arrivals (extension, arrived_at) where handover is null;

-- Whether hand-over h fits arrival a.
create function {SCHEMA}.fits(h {SCHEMA}.handovers, a {SCHEMA}.arrivals) returns boolean
language sql immutable as $$
    select h.target = a.extension and h.caller = a.caller
       and (a.from_extension is null or a.from_extension = h.from_extension)
       and (h.seance is null or a.seance is null or h.seance = a.seance)
       and a.arrived_at between h.made_at - interval '{HANDOVER_WINDOW}'
                            and h.made_at + interval '{HANDOVER_WINDOW}'
$$;

-- An arrival (B's daemon inserts it): claim the nearest open hand-over that fits.
create function {SCHEMA}.arrival_claims() returns trigger language plpgsql
security definer set search_path = {SCHEMA}, pg_temp as $$
declare
    match_id bigint;
begin
    if new.extension is distinct from (select extension from agents where login = new.agent)
    then
        raise exception 'extension % is not %''s in the agents table', 
            new.extension, new.agent using errcode = 'insufficient_privilege';
    end if;
    perform pg_advisory_xact_lock(hashtext('cc handover ' || new.extension));
    select h.id into match_id from handovers h
     where h.claimed_by is null and fits(h, new)
     order by (h.seance is not null and h.seance = new.seance) desc,
              abs(extract(epoch from new.arrived_at - h.made_at))
     limit 1 for update;
    if match_id is not null then
        update handovers set claimed_by = new.agent, claimed_call_id = new.call_id,
                             claimed_at = now() where id = match_id;
        new.handover := match_id;
    end if;
    return new;
end $$;
create trigger arrival_claims before insert on {SCHEMA}.arrivals
    for each row execute function {SCHEMA}.arrival_claims();

-- A hand-over that comes after the call it is for: it finds the arrival waiting.
create function {SCHEMA}.handover_finds() returns trigger language plpgsql
security definer set search_path = {SCHEMA}, pg_temp as $$
declare
    waiting arrivals;
begin
    perform pg_advisory_xact_lock(hashtext('cc handover ' || new.target));
    -- From the writer's own extension only: nobody can hand a card over as another.
    if new.from_extension is distinct from
            (select extension from agents where login = new.from_agent) then
        raise exception 'extension % is not %''s in the agents table', new.from_extension,
            new.from_agent using errcode = 'insufficient_privilege';
    end if;
    select a.* into waiting from arrivals a
     where a.handover is null and fits(new, a)
     order by (new.seance is not null and a.seance = new.seance) desc,
              abs(extract(epoch from a.arrived_at - new.made_at))
     limit 1 for update;
    if found then
        update handovers set claimed_by = waiting.agent, claimed_call_id = waiting.call_id,
                             claimed_at = now() where id = new.id;
        update arrivals set handover = new.id where id = waiting.id;
    end if;
    return null;
end $$;
create trigger handover_finds after insert on {SCHEMA}.handovers
    for each row execute function {SCHEMA}.handover_finds();

grant select, insert, delete on {SCHEMA}.handovers, {SCHEMA}.arrivals to {AGENT_ROLE};
alter table {SCHEMA}.handovers enable row level security;
alter table {SCHEMA}.arrivals enable row level security;
-- A hand-over: its writer inserts and removes it; the agent that claimed it reads it.
create policy writer on {SCHEMA}.handovers for all to {AGENT_ROLE}
    using (from_agent = current_user) with check (from_agent = current_user);
create policy claimer_reads on {SCHEMA}.handovers for select to {AGENT_ROLE}
    using (claimed_by = current_user);
create policy own on {SCHEMA}.arrivals for all to {AGENT_ROLE}
    using (agent = current_user) with check (agent = current_user);
"""


VIEWER_ROLE = "cc_viewer"
MASK_KEEP_HEAD, MASK_KEEP_TAIL = 6, 2    # as daemon/privacy.py: +38067•••••33


def _retention_and_masking() -> str:
    """Retention: an agent purges its own old calls through a function the administrator
    owns (security definer, search path pinned), which takes the agent from session_user,
    never from an argument. Masking: cc_viewer reads the calls through a view that hides
    the middle of every number, and cannot read cc.calls itself."""
    masked = (f"case when {{c}} is null or length({{c}}) <= 4 then {{c}} "
              f"when length({{c}}) >= 11 then left({{c}}, {MASK_KEEP_HEAD}) || "
              f"repeat('•', length({{c}}) - {MASK_KEEP_HEAD + MASK_KEEP_TAIL}) || "
              f"right({{c}}, {MASK_KEEP_TAIL}) "
              f"else repeat('•', length({{c}}) - {MASK_KEEP_TAIL}) || "
              f"right({{c}}, {MASK_KEEP_TAIL}) end")
    numbers = ("number", "transfer_number", "number_key")
    columns = ", ".join(
        f"{masked.format(c=name)} as {name}" if name in numbers else name
        for name in ("id", "server", "call_id", "agent", "counter", "counter_number",
                     *CALL_COLUMNS))
    return f"""
do $$
begin
    if not exists (select from pg_roles where rolname = '{VIEWER_ROLE}') then
        create role {VIEWER_ROLE} nologin;
    end if;
end $$;
create function {SCHEMA}.purge_calls(older_than_days integer) returns bigint
language plpgsql security definer set search_path = {SCHEMA}, pg_temp as $$
declare
    removed bigint;
begin
    if older_than_days is null or older_than_days < 1 then
        raise exception 'purge: days must be 1 or more, not %', older_than_days
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select from agents where login = session_user) then
        raise exception '% is not in the team table', session_user
            using errcode = 'insufficient_privilege';
    end if;
    delete from calls where agent = session_user
       and started_at < now() - make_interval(days => older_than_days);
    get diagnostics removed = row_count;
    return removed;
end $$;
revoke all on function {SCHEMA}.purge_calls(integer) from public;
grant execute on function {SCHEMA}.purge_calls(integer) to {AGENT_ROLE};

create view {SCHEMA}.calls_masked with (security_barrier) as
    select {columns} from {SCHEMA}.calls;
grant usage on schema {SCHEMA} to {VIEWER_ROLE};
grant select on {SCHEMA}.calls_masked, {SCHEMA}.teams, {SCHEMA}.agents to {VIEWER_ROLE};
"""


def _shared_filters_and_catalogues() -> str:
    """The team's saved filters (`cc log save NAME --team`) and its catalogues of call
    types and results (`cc catalog` with team.url). A filter: its team's agents and lead
    read it; an agent adds one to its own team as itself; its owner or the team's lead
    changes or removes it. A catalogue: the team's agents read it, its lead (and the
    administrator, who owns the table) keeps it. A new team starts with the catalogues a
    new call log has (a trigger), and so do the teams already there."""
    from ..store import CATALOG_COLOURS, CATALOG_DEFAULTS

    colours = ", ".join(f"'{c}'" for c in ("", *CATALOG_COLOURS))
    defaults = ", ".join(f"('{k}', '{n}', '{c}')" for k, n, c in CATALOG_DEFAULTS)
    my_team = f"(select team from {SCHEMA}.agents where login = current_user)"
    led = f"(select name from {SCHEMA}.teams where lead = current_user)"
    return f"""
create table {SCHEMA}.saved_filters (
    team text not null references {SCHEMA}.teams (name) on update cascade on delete cascade,
    -- As a local filter's name (daemon/wire.py NAME_PATTERN).
    name text not null check (name ~ '^\\w[\\w.-]{{0,63}}$'),
    owner name not null default current_user,
    definition jsonb not null check (jsonb_typeof(definition) = 'object'),
    updated_at timestamptz not null default now(),
    primary key (team, name)
);
create table {SCHEMA}.catalog (
    team text not null references {SCHEMA}.teams (name) on update cascade on delete cascade,
    kind text not null check (kind in ('types', 'results')),
    name text not null check (length(name) between 1 and 100),
    colour text not null default '' check (colour in ({colours})),
    primary key (team, kind, name)
);

create function {SCHEMA}.seed_catalog() returns trigger language plpgsql
security definer set search_path = {SCHEMA}, pg_temp as $$
begin
    insert into catalog (team, kind, name, colour)
    select new.name, d.kind, d.name, d.colour
      from (values {defaults}) as d (kind, name, colour)
    on conflict do nothing;
    return null;
end $$;
create trigger teams_seed_catalog after insert on {SCHEMA}.teams
    for each row execute function {SCHEMA}.seed_catalog();
insert into {SCHEMA}.catalog (team, kind, name, colour)
select t.name, d.kind, d.name, d.colour
  from {SCHEMA}.teams t cross join (values {defaults}) as d (kind, name, colour)
on conflict do nothing;

grant select, insert, update, delete on {SCHEMA}.saved_filters to {AGENT_ROLE}, {LEAD_ROLE};
grant select on {SCHEMA}.catalog to {AGENT_ROLE};
grant select, insert, update, delete on {SCHEMA}.catalog to {LEAD_ROLE};
alter table {SCHEMA}.saved_filters enable row level security;
alter table {SCHEMA}.catalog enable row level security;

create policy team_reads on {SCHEMA}.saved_filters for select to {AGENT_ROLE}
    using (team = {my_team});
create policy adds_own on {SCHEMA}.saved_filters for insert to {AGENT_ROLE}, {LEAD_ROLE}
    with check (owner = current_user and (team = {my_team} or team in {led}));
create policy owner_keeps on {SCHEMA}.saved_filters for update to {AGENT_ROLE}
    using (owner = current_user)
    with check (owner = current_user and team = {my_team});
create policy owner_removes on {SCHEMA}.saved_filters for delete to {AGENT_ROLE}
    using (owner = current_user);
create policy lead_reads on {SCHEMA}.saved_filters for select to {LEAD_ROLE}
    using (team in {led});
create policy lead_keeps on {SCHEMA}.saved_filters for update to {LEAD_ROLE}
    using (team in {led}) with check (team in {led});
create policy lead_removes on {SCHEMA}.saved_filters for delete to {LEAD_ROLE}
    using (team in {led});

create policy team_reads on {SCHEMA}.catalog for select to {AGENT_ROLE}
    using (team = {my_team});
create policy lead_keeps on {SCHEMA}.catalog for all to {LEAD_ROLE}
    using (team in {led}) with check (team in {led});
"""


def _masked_columns() -> str:
    masked = (f"case when {{c}} is null or length({{c}}) <= 4 then {{c}} "
              f"when length({{c}}) >= 11 then left({{c}}, {MASK_KEEP_HEAD}) || "
              f"repeat('•', length({{c}}) - {MASK_KEEP_HEAD + MASK_KEEP_TAIL}) || "
              f"right({{c}}, {MASK_KEEP_TAIL}) "
              f"else repeat('•', length({{c}}) - {MASK_KEEP_TAIL}) || "
              f"right({{c}}, {MASK_KEEP_TAIL}) end")
    numbers = ("number", "transfer_number", "number_key")
    return ", ".join(
        f"{masked.format(c=f'c.{name}')} as {name}" if name in numbers else f"c.{name}"
        for name in ("id", "server", "call_id", "agent", "counter", "counter_number",
                     *CALL_COLUMNS))


def _viewers() -> str:
    """Who views which team: a viewer (cc_viewer) reads through the masked view only the
    calls of the teams it is a viewer of. The administrator keeps the viewers table, a
    lead its own teams' rows; a viewer reads its own rows, an agent its team's (who may
    see its calls). The view stays the administrator's, so it reads cc.calls past the
    row-level security and filters on current_user, the viewer running the query."""
    return f"""
create table {SCHEMA}.viewers (
    login name not null,
    team text not null references {SCHEMA}.teams (name) on update cascade on delete cascade,
    primary key (login, team)
);
grant select on {SCHEMA}.viewers to {AGENT_ROLE}, {LEAD_ROLE}, {VIEWER_ROLE};
grant insert, update, delete on {SCHEMA}.viewers to {LEAD_ROLE};
alter table {SCHEMA}.viewers enable row level security;
create policy lead_keeps on {SCHEMA}.viewers for all to {LEAD_ROLE}
    using (team in (select name from {SCHEMA}.teams where lead = current_user))
    with check (team in (select name from {SCHEMA}.teams where lead = current_user));
create policy own_reads on {SCHEMA}.viewers for select to {VIEWER_ROLE}
    using (login = current_user);
create policy team_reads on {SCHEMA}.viewers for select to {AGENT_ROLE}
    using (team in (select team from {SCHEMA}.agents where login = current_user));

drop view {SCHEMA}.calls_masked;
create view {SCHEMA}.calls_masked with (security_barrier) as
    select {_masked_columns()} from {SCHEMA}.calls c
     where c.agent in (select a.login from {SCHEMA}.agents a
                       join {SCHEMA}.viewers v on v.team = a.team
                       where v.login = current_user);
grant select on {SCHEMA}.calls_masked to {VIEWER_ROLE};
"""


NUMBER_KINDS = ("mobile", "work", "home", "other", "fax", "pager")    # as wire.NUMBER_KINDS
MAX_NUMBERS = 200           # numbers one contact or account may have
UID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _directory() -> str:
    """The team's contacts and accounts: each daemon keeps its local tables as a cache and
    pulls by revision ("every record of my team above the last revision I saw").

    A record's numbers live in its row (jsonb: [{"number", "kind"}]), so a change is one
    row, last write wins per record, and a pull needs no join. The revision comes from one
    sequence under a lock per team taken before it is drawn: a team's writers commit in
    revision order, so a reader that saw revision N never misses a lower one committed
    later. The writer (updated_by) and the time are the store's, never a client's. A
    removal is a tombstone (deleted) that travels like any change."""
    kinds = ", ".join(f"'{k}'" for k in NUMBER_KINDS)
    tables = ""
    account_uid = f"    account_uid text check (account_uid ~ '{UID}'),\n"
    for table, extra in (("accounts", ""), ("contacts", account_uid)):
        tables += f"""
create table {SCHEMA}.{table} (
    uid text primary key check (uid ~ '{UID}'),
    team text not null references {SCHEMA}.teams (name) on update cascade on delete cascade,
    name text not null default '',
{extra}    numbers jsonb not null default '[]' check ({SCHEMA}.numbers_ok(numbers)),
    deleted boolean not null default false,
    updated_at timestamptz not null default now(),
    updated_by name not null default current_user,
    revision bigint not null,
    check (deleted or length(trim(name)) between 1 and 200),
    check (length(name) <= 200)
);
create index {table}_revision on {SCHEMA}.{table} (team, revision);
create trigger {table}_revised before insert or update on {SCHEMA}.{table}
    for each row execute function {SCHEMA}.directory_revised();
grant select, insert, update on {SCHEMA}.{table} to {AGENT_ROLE}, {LEAD_ROLE};
alter table {SCHEMA}.{table} enable row level security;
create policy own_team on {SCHEMA}.{table} for all to {AGENT_ROLE}
    using (team = (select a.team from {SCHEMA}.agents a where a.login = current_user))
    with check (team = (select a.team from {SCHEMA}.agents a where a.login = current_user));
create policy led_teams on {SCHEMA}.{table} for all to {LEAD_ROLE}
    using (team in (select t.name from {SCHEMA}.teams t where t.lead = current_user))
    with check (team in (select t.name from {SCHEMA}.teams t where t.lead = current_user));
"""
    return f"""
create function {SCHEMA}.numbers_ok(numbers jsonb) returns boolean
language sql immutable as $$
    select jsonb_typeof(numbers) = 'array' and jsonb_array_length(numbers) <= {MAX_NUMBERS}
       and not exists (
           select from jsonb_array_elements(numbers) n
            where jsonb_typeof(n) <> 'object'
               or jsonb_typeof(n -> 'number') is distinct from 'string'
               or length(n ->> 'number') not between 1 and 80
               or coalesce(n ->> 'kind', '') not in ({kinds}))
$$;
create sequence {SCHEMA}.directory_revision;
grant usage on sequence {SCHEMA}.directory_revision to {AGENT_ROLE}, {LEAD_ROLE};

-- Every write: the writer's team (an agent's own when not given), the store's time and
-- writer, and the next revision, drawn under the team's lock (see above).
create function {SCHEMA}.directory_revised() returns trigger language plpgsql as $$
begin
    if new.team is null then
        select a.team into new.team from {SCHEMA}.agents a where a.login = current_user;
    end if;
    perform pg_advisory_xact_lock(hashtext('cc directory ' || coalesce(new.team, '')));
    new.updated_at := now();
    new.updated_by := current_user;
    new.revision := nextval('{SCHEMA}.directory_revision');
    return new;
end $$;
{tables}"""


def _hardening() -> str:
    """What a hostile agent or lead could put in the store for others to trip on.

    A hand-over's claim and an arrival's hand-over are the store's to set: a client that
    set them could pin another's open hand-over with an arrival of its own (so the real
    one's claim fails and the card is lost) or push a card onto a call it was never
    transferred. Text others print (catalogue entries, names, numbers) holds no control
    characters, so nobody's terminal is driven by a colleague's entry."""
    printable = "!~ '[[:cntrl:]]'"
    kinds = ", ".join(f"'{k}'" for k in NUMBER_KINDS)
    return f"""
create function {SCHEMA}.handover_unclaimed() returns trigger language plpgsql as $$
begin
    new.claimed_by := null;
    new.claimed_call_id := null;
    new.claimed_at := null;
    return new;
end $$;
create trigger handover_unclaimed before insert on {SCHEMA}.handovers
    for each row execute function {SCHEMA}.handover_unclaimed();

create or replace function {SCHEMA}.arrival_claims() returns trigger language plpgsql
security definer set search_path = {SCHEMA}, pg_temp as $$
declare
    match_id bigint;
begin
    new.handover := null;       -- the match below is the only way to one
    if new.extension is distinct from (select extension from agents where login = new.agent)
    then
        raise exception 'extension % is not %''s in the agents table',
            new.extension, new.agent using errcode = 'insufficient_privilege';
    end if;
    perform pg_advisory_xact_lock(hashtext('cc handover ' || new.extension));
    select h.id into match_id from handovers h
     where h.claimed_by is null and fits(h, new)
     order by (h.seance is not null and h.seance = new.seance) desc,
              abs(extract(epoch from new.arrived_at - h.made_at))
     limit 1 for update;
    if match_id is not null then
        update handovers set claimed_by = new.agent, claimed_call_id = new.call_id,
                             claimed_at = now() where id = match_id;
        new.handover := match_id;
    end if;
    return new;
end $$;
-- Arrivals pinned so far: a hand-over is an arrival's only when its claimer is that agent.
update {SCHEMA}.arrivals a set handover = null
 where handover is not null and not exists (
       select from {SCHEMA}.handovers h where h.id = a.handover and h.claimed_by = a.agent);

alter table {SCHEMA}.catalog add constraint catalog_name_printable
    check (name {printable}) not valid;
alter table {SCHEMA}.agents add constraint agents_name_printable
    check (name {printable}) not valid;
alter table {SCHEMA}.contacts add constraint contacts_name_printable
    check (name {printable}) not valid;
alter table {SCHEMA}.accounts add constraint accounts_name_printable
    check (name {printable}) not valid;
create or replace function {SCHEMA}.numbers_ok(numbers jsonb) returns boolean
language sql immutable as $$
    select jsonb_typeof(numbers) = 'array' and jsonb_array_length(numbers) <= {MAX_NUMBERS}
       and not exists (
           select from jsonb_array_elements(numbers) n
            where jsonb_typeof(n) <> 'object'
               or jsonb_typeof(n -> 'number') is distinct from 'string'
               or length(n ->> 'number') not between 1 and 80
               or n ->> 'number' ~ '[[:cntrl:]]'
               or n - 'number' - 'kind' <> '{{}}'::jsonb
               or coalesce(n ->> 'kind', '') not in ({kinds}))
$$;
"""


def _directory_lock() -> str:
    """A team's directory lock (see _directory) out of other teams' reach: its key is a
    hash salted with a seed only the administrator reads, taken through a function that
    takes it only for a team the caller writes (its own, the teams it leads; any for the
    administrator). An agent that held another team's key in an idle session would stop
    that team's contacts and accounts from being written at all."""
    return f"""
create table {SCHEMA}.lock_seed (seed bigint not null);
insert into {SCHEMA}.lock_seed
    values (('x' || left(md5(random()::text || clock_timestamp()::text), 16))::bit(64)::bigint);
revoke all on {SCHEMA}.lock_seed from public;
create function {SCHEMA}.directory_lock(team text) returns void language plpgsql
security definer set search_path = {SCHEMA}, pg_temp as $$
begin
    if exists (select from agents where login = session_user)
       or exists (select from teams where lead = session_user) then
        if team is null or team not in (
                select a.team from agents a where a.login = session_user
                union all select t.name from teams t where t.lead = session_user) then
            return;     -- not the caller's to write: row-level security refuses the row
        end if;
    end if;
    perform pg_advisory_xact_lock(hashtextextended('cc directory ' || team,
                                                   (select seed from lock_seed)));
end $$;
revoke all on function {SCHEMA}.directory_lock(text) from public;
grant execute on function {SCHEMA}.directory_lock(text) to {AGENT_ROLE}, {LEAD_ROLE};
create or replace function {SCHEMA}.directory_revised() returns trigger language plpgsql as $$
begin
    if new.team is null then
        select a.team into new.team from {SCHEMA}.agents a where a.login = current_user;
    end if;
    perform {SCHEMA}.directory_lock(coalesce(new.team, ''));
    new.updated_at := now();
    new.updated_by := current_user;
    new.revision := nextval('{SCHEMA}.directory_revision');
    return new;
end $$;
"""


MAX_CARD_BYTES = 1024 * 1024        # a hand-over's card (its fields are cut far below)
MAX_FILTER_BYTES = 64 * 1024        # a saved filter's definition
MAX_TEXT_BYTES = 1024 * 1024        # one text of a call: as wire.MAX_REQUEST_BYTES


def _sizes() -> str:
    """Bounds on what one agent writes and others read whole: a card handed over (its
    target's daemon reads it), a team filter (every teammate's `cc log` reads them all), a
    call's texts (a lead's `cc log --team` reads them). Rows already there are not
    checked again (not valid): a bound is for what comes."""
    texts = [name for name, kind in CALL_COLUMNS.items() if kind.startswith("text")]
    calls = " and ".join(f"octet_length({c}) <= {MAX_TEXT_BYTES}"
                         for c in ("server", "call_id", *texts))
    return f"""
alter table {SCHEMA}.handovers add constraint handovers_card_size
    check (octet_length(card::text) <= {MAX_CARD_BYTES}) not valid;
alter table {SCHEMA}.saved_filters add constraint saved_filters_size
    check (octet_length(definition::text) <= {MAX_FILTER_BYTES}) not valid;
alter table {SCHEMA}.calls add constraint calls_text_size check (
    {calls}) not valid;
"""


def _numbered_always() -> str:
    """A card number is the store's on every write: the first trigger made it only when
    the counter or the agent changed, so an agent could set its own call's number to one
    a colleague's next call will need, and that call was refused. Numbers set so are
    made again from the prefix and the counter."""
    return f"""
drop trigger calls_numbered on {SCHEMA}.calls;
create trigger calls_numbered before insert or update
    on {SCHEMA}.calls for each row execute function {SCHEMA}.number_call();
update {SCHEMA}.calls c set counter = counter
  from {SCHEMA}.agents a
 where a.login = c.agent
   and c.counter_number is distinct from a.prefix || '-' || case
       when c.counter < 1000000 then lpad(c.counter::text, 6, '0') else c.counter::text end;
"""


HANDOVER_LOCK_WAIT = "2s"       # a match's lock is held for a moment; longer is a stuck writer


def _bounded_waits() -> str:
    """A hand-over's match waits a moment at most for its lock: a colleague's transaction
    left open after writing a hand-over to B's extension (psql, a hung client) held every
    arrival of B's, and with it B's whole replication, for as long as it stayed open. Past
    the wait the row goes in unmatched, as when nothing fits."""
    head = (f"language plpgsql security definer set search_path = {SCHEMA}, pg_temp "
            f"set lock_timeout = '{HANDOVER_LOCK_WAIT}'")
    return f"""
create or replace function {SCHEMA}.arrival_claims() returns trigger {head} as $$
declare
    match_id bigint;
begin
    new.handover := null;       -- the match below is the only way to one
    if new.extension is distinct from (select extension from agents where login = new.agent)
    then
        raise exception 'extension % is not %''s in the agents table',
            new.extension, new.agent using errcode = 'insufficient_privilege';
    end if;
    begin
        perform pg_advisory_xact_lock(hashtext('cc handover ' || new.extension));
        select h.id into match_id from handovers h
         where h.claimed_by is null and fits(h, new)
         order by (h.seance is not null and h.seance = new.seance) desc,
                  abs(extract(epoch from new.arrived_at - h.made_at))
         limit 1 for update;
        if match_id is not null then
            update handovers set claimed_by = new.agent, claimed_call_id = new.call_id,
                                 claimed_at = now() where id = match_id;
            new.handover := match_id;
        end if;
    exception when lock_not_available then
        new.handover := null;
    end;
    return new;
end $$;

create or replace function {SCHEMA}.handover_finds() returns trigger {head} as $$
declare
    waiting arrivals;
begin
    -- From the writer's own extension only: nobody can hand a card over as another.
    if new.from_extension is distinct from
            (select extension from agents where login = new.from_agent) then
        raise exception 'extension % is not %''s in the agents table', new.from_extension,
            new.from_agent using errcode = 'insufficient_privilege';
    end if;
    begin
        perform pg_advisory_xact_lock(hashtext('cc handover ' || new.target));
        select a.* into waiting from arrivals a
         where a.handover is null and fits(new, a)
         order by (new.seance is not null and a.seance = new.seance) desc,
                  abs(extract(epoch from a.arrived_at - new.made_at))
         limit 1 for update;
        if found then
            update handovers set claimed_by = waiting.agent,
                   claimed_call_id = waiting.call_id, claimed_at = now() where id = new.id;
            update arrivals set handover = new.id where id = waiting.id;
        end if;
    exception when lock_not_available then
        null;
    end;
    return null;
end $$;
"""


# Columns of a call added after the first step (CALL_COLUMNS is what released steps
# read, so it never grows): what replication sends, beside CALL_COLUMNS.
ADDED_COLUMNS = ("description",)
DESCRIPTION_BYTES = 64 * 1024       # as wire.DESCRIPTION_BYTES
CHANGE_FIELDS = ("call_type", "subject", "result", "notes", "description", "contact",
                 "account", *(name for name in CALL_COLUMNS if name.startswith("link_")))


def _change_log() -> str:
    """A call's description (as the local log's, of at most 64 KiB), and the change log of
    every call's card as the store sees it: each card field a write sets or changes, when
    (the store's time), by whom (current_user, the role that wrote it), its old and new
    value; the card number when the counter changes. Only the trigger on calls writes it
    (a direct insert is refused); nobody changes or removes a row (no grant, and a
    trigger refusing even the owner), which goes only with its call: the cascade of the
    call's removal (`cc log rm` replicated, the retention purge). It is read as the calls
    are: an agent its own calls' (and its team's when the team allows), a lead its
    teams'."""
    fields = ", ".join(f"'{f}'" for f in CHANGE_FIELDS)
    return f"""
alter table {SCHEMA}.calls add column description text
    constraint calls_description_size check (octet_length(description) <= {DESCRIPTION_BYTES});
create table {SCHEMA}.call_changes (
    id bigint generated always as identity primary key,
    call bigint not null references {SCHEMA}.calls (id) on delete cascade,
    changed_at timestamptz not null default now(),
    changed_by name not null default current_user,
    field text not null,
    old_value text,
    new_value text
);
create index call_changes_call on {SCHEMA}.call_changes (call, id);

create function {SCHEMA}.record_changes() returns trigger language plpgsql as $$
declare
    was jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) else '{{}}'::jsonb end;
    now_is jsonb := to_jsonb(new);
begin
    insert into {SCHEMA}.call_changes (call, field, old_value, new_value)
    select new.id, f, was ->> f, now_is ->> f
      from unnest(array[{fields}]) with ordinality as c (f, n)
     where coalesce(was ->> f, '') <> coalesce(now_is ->> f, '')
     order by n;
    if tg_op = 'UPDATE' then
        if old.counter is distinct from new.counter then
            insert into {SCHEMA}.call_changes (call, field, old_value, new_value)
            values (new.id, 'counter_number', old.counter_number, new.counter_number);
        end if;
    end if;
    return null;
end $$;
create trigger calls_changes after insert or update on {SCHEMA}.calls
    for each row execute function {SCHEMA}.record_changes();

-- Written by that trigger alone, with the store's time and the writing role.
create function {SCHEMA}.change_stamped() returns trigger language plpgsql as $$
begin
    if pg_trigger_depth() < 2 then
        raise exception 'the change log is written by the store itself'
            using errcode = 'insufficient_privilege';
    end if;
    new.changed_at := now();
    new.changed_by := current_user;
    return new;
end $$;
create trigger call_changes_stamped before insert on {SCHEMA}.call_changes
    for each row execute function {SCHEMA}.change_stamped();

-- Append only: a row goes only when its call has gone (the cascade), never on its own.
create function {SCHEMA}.change_kept() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        if not exists (select from {SCHEMA}.calls where id = old.call) then
            return old;
        end if;
    end if;
    raise exception 'the change log is append only: its rows go with their call'
        using errcode = 'insufficient_privilege';
end $$;
create trigger call_changes_kept before update or delete on {SCHEMA}.call_changes
    for each row execute function {SCHEMA}.change_kept();
create trigger call_changes_not_truncated before truncate on {SCHEMA}.call_changes
    for each statement execute function {SCHEMA}.change_kept();

grant select, insert on {SCHEMA}.call_changes to {AGENT_ROLE};
grant select on {SCHEMA}.call_changes to {LEAD_ROLE};
alter table {SCHEMA}.call_changes enable row level security;
create policy reads_as_calls on {SCHEMA}.call_changes for select to {AGENT_ROLE}, {LEAD_ROLE}
    using (call in (select id from {SCHEMA}.calls));
create policy written_as_self on {SCHEMA}.call_changes for insert to {AGENT_ROLE}
    with check (changed_by = current_user);
"""


# Append only: version N+1 is MIGRATIONS[N].
MIGRATIONS = (lambda: _v1() + _handovers(), _retention_and_masking,
              _shared_filters_and_catalogues, _viewers, _directory,
              _hardening, _directory_lock, _sizes, _numbered_always,
              _bounded_waits, _change_log)
VERSION = len(MIGRATIONS)

ROLES = f"""
do $$
begin
    if not exists (select from pg_roles where rolname = '{AGENT_ROLE}') then
        create role {AGENT_ROLE} nologin;
    end if;
    if not exists (select from pg_roles where rolname = '{LEAD_ROLE}') then
        create role {LEAD_ROLE} nologin;
    end if;
end $$;
"""


def mismatch(have: int) -> str | None:
    """What is wrong when a team store is at schema version `have`, with its fix; None
    when it is the version this cc knows."""
    if have < VERSION:
        return (f"the team store is at schema version {have}, this cc needs {VERSION}: the "
                "administrator runs `cc team init`")
    if have > VERSION:
        return (f"the team store is at schema version {have}, newer than this cc knows "
                f"({VERSION}): upgrade cc")
    return None


def version(conn) -> int:
    """The schema version a team store has (0: none yet)."""
    found = conn.execute("select to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()[0]
    if found is None:
        return 0
    row = conn.execute(f"select version from {SCHEMA}.schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn) -> tuple[int, int]:
    """Bring the team store up to VERSION in one transaction; (before, after)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('cc team schema'))")
        before = version(conn)
        if before > VERSION:
            return before, before
        conn.execute(ROLES)
        if before == 0:
            conn.execute(f"create schema if not exists {SCHEMA}")
            conn.execute(f"create table {SCHEMA}.schema_version (version int not null)")
            conn.execute(f"insert into {SCHEMA}.schema_version values (0)")
            conn.execute(f"grant usage on schema {SCHEMA} to {AGENT_ROLE}, {LEAD_ROLE}")
            conn.execute(f"grant select on {SCHEMA}.schema_version to {AGENT_ROLE}, "
                         f"{LEAD_ROLE}")
        for number, step in enumerate(MIGRATIONS[before:], before + 1):
            conn.execute(step())
            conn.execute(f"update {SCHEMA}.schema_version set version = %s", (number,))
    return before, max(before, VERSION)
