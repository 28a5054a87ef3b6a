{#- "Now" for every rule that depends on time (registry retention, staleness, deadlines, idle freezes):
    the var as_of when set (unit tests, replays), else the build's clock. One place, so a replay is consistent. -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        cast(current_timestamp as timestamp with time zone)
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
