{#- "Now" for every rule that depends on time (registry retention, staleness, deadlines, idle freezes):
    the var as_of when set (unit tests), else the hub's clock (estelam.core.clock, registered on dbt's connection
    as hub_now() by estelam.warehouse.duckdb_functions; a replay or the demo's simulated days move it without
    changing a var, so dbt's partial parse holds). One place, so a build is consistent. -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        cast(hub_now() as timestamp with time zone)
    {%- endif -%}
{%- endmacro %}


{#- An agency's reply deadline in seconds, from contracts/agencies.yaml (passed in by estelam.warehouse.build()). -#}
{% macro reply_deadline_s(agency_id_column) -%}
    {%- set deadlines = var('agency_reply_deadlines', {}) -%}
    {%- if deadlines -%}
    case {{ agency_id_column }}
        {%- for agency_id, seconds in deadlines.items() | sort %}
        when '{{ agency_id }}' then {{ seconds | float }}
        {%- endfor %}
        else {{ var('default_reply_deadline_s') | float }}
    end
    {%- else -%}
    {{ var('default_reply_deadline_s') | float }}
    {%- endif -%}
{%- endmacro %}


{#- Seconds from ``earlier`` to ``later`` (timestamps with time zone), as epoch(later - earlier) gives them, but
    from the two instants' microseconds: subtracting two such timestamps builds an interval through the time-zone
    calendar, some ten times the cost (1.6 s for 4.4 million rows). -#}
{% macro seconds_between(later, earlier) -%}
    ((epoch_us({{ later }}) - epoch_us({{ earlier }})) / 1000000)
{%- endmacro %}


{#- The first day of the UTC month of ``instant`` (a timestamp with time zone), as a date: the month a KPI counts
    an event in, whatever the session's time zone. -#}
{% macro month_of(instant) -%}
    cast(date_trunc('month', timezone('UTC', {{ instant }})) as date)
{%- endmacro %}
