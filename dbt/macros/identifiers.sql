{#-
    estelam.core.identifiers' normalise_identifier, person_key and local_person_id as DuckDB SQL expressions:
    vectorised, no Python per value. estelam.core.identifiers stays the one definition;
    tests/warehouse/test_identifier_sql.py renders these macros and proves they agree with it on every Unicode
    code point as a separator and on a large generated corpus of identifiers (every scheme, broken check digits,
    Persian and Arabic-Indic digits, separators).
-#}

{% macro sql_normalise_identifier(column) -%}
    {#- Persian and Arabic-Indic digits, and their Latin equivalents (estelam.core.identifiers._DIGITS) -#}
    {%- set _eastern_digits = '۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩' -%}
    {%- set _latin_digits = '01234567890123456789' -%}
    {#- What duckdb_functions._SEPARATORS removes: every character str.isspace() holds for (Python's \s), hyphen,
        dot, slash, ZWNJ, RLM, LRM. As code points, so no invisible character hides in this file. -#}
    {%- set _separators = [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197,
                           8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288, 45, 46, 47, 8204, 8207, 8206] -%}
    {#- translate() deletes the characters of its second argument that have no counterpart in the third; it costs
        some 2 µs a value, so a value of Latin digits only (most of them, and unchanged by it) skips it -#}
    case when regexp_full_match({{ column }}, '[0-9]*') then {{ column }} else translate({{ column }}, '{{ _eastern_digits }}'
        {%- for point in _separators %} || chr({{ point }}){% endfor %}, '{{ _latin_digits }}') end
{%- endmacro %}


{% macro identifier_digit(code, position) -%}
    (ord(substr({{ code }}, {{ position }}, 1)) - 48)
{%- endmacro %}


{#- Person ids with their scheme (estelam.core.identifiers.person_key / local_person_id): "ir-nc:0012345679".
    A model splits the id as written once (sql_person_id_prefix, sql_person_id_code), then keys it. -#}

{% macro sql_person_id_prefix(raw) -%}
    {#- the scheme as written before ':', lower-cased and without surrounding spaces; null for a bare id -#}
    case when strpos({{ raw }}, ':') > 0 then lower(trim(split_part({{ raw }}, ':', 1))) end
{%- endmacro %}


{% macro sql_person_id_code(raw) -%}
    {#- the code after the scheme (or the whole bare id), normalised -#}
    {{ sql_normalise_identifier("case when strpos(" ~ raw ~ ", ':') > 0 then substr(" ~ raw ~ ", strpos(" ~ raw ~ ", ':') + 1) else " ~ raw ~ " end") }}
{%- endmacro %}


{% macro _is_iran_national_code(code) -%}
    (regexp_full_match({{ code }}, '[0-9]{10}')
        and {{ code }} <> repeat(substr({{ code }}, 1, 1), 10)
        and (
            {%- set national -%}
                ({% for i in range(9) %}{{ identifier_digit(code, i + 1) }} * {{ 10 - i }}{{ ' + ' if not loop.last }}{% endfor %}) % 11
            {%- endset %}
            case when {{ national }} < 2 then {{ national }} else 11 - {{ national }} end
        ) = {{ identifier_digit(code, 10) }})
{%- endmacro %}


{% macro _is_iran_legal_id(code) -%}
    (regexp_full_match({{ code }}, '[0-9]{11}')
        and (
            {%- set legal -%}
                ({% for c in [29, 27, 23, 19, 17, 29, 27, 23, 19, 17] %}({{ identifier_digit(code, 10) }} + 2 + {{ identifier_digit(code, loop.index) }}) * {{ c }}{{ ' + ' if not loop.last }}{% endfor %}) % 11
            {%- endset %}
            case when {{ legal }} = 10 then 0 else {{ legal }} end
        ) = {{ identifier_digit(code, 11) }})
{%- endmacro %}


{% macro _is_saudi_luhn(code, first) -%}
    (regexp_full_match({{ code }}, '{{ first }}[0-9]{9}')
        and (
            {%- for i in range(10) %}
            {%- if i % 2 == 0 %}
            (case when {{ identifier_digit(code, i + 1) }} * 2 > 9 then {{ identifier_digit(code, i + 1) }} * 2 - 9
                  else {{ identifier_digit(code, i + 1) }} * 2 end)
            {%- else %}
            {{ identifier_digit(code, i + 1) }}
            {%- endif %}{{ ' +' if not loop.last }}
            {%- endfor %}
        ) % 10 = 0)
{%- endmacro %}


{% macro sql_person_id_canonical(prefix, code) -%}
    {#- ``code`` (normalised) in scheme ``prefix``'s canonical form, or null if it fails the scheme's check -#}
    {%- if prefix == 'ir-nc' -%}
        {#- bare codes that lost their leading zeros (8 or 9 digits) are padded back to ten (padding 8 or 9
            characters that are not all digits is harmless: the check below refuses them, padded or not) -#}
        {%- set padded = "(case when length(" ~ code ~ ") in (8, 9) then lpad(" ~ code ~ ", 10, '0') else " ~ code ~ " end)" -%}
        (case when {{ _is_iran_national_code(padded) }} then {{ padded }} end)
    {%- elif prefix == 'ir-nid' -%}
        (case when {{ _is_iran_legal_id(code) }} then {{ code }} end)
    {%- elif prefix == 'sa-nid' -%}
        (case when {{ _is_saudi_luhn(code, '1') }} then {{ code }} end)
    {%- elif prefix == 'sa-iqama' -%}
        (case when {{ _is_saudi_luhn(code, '2') }} then {{ code }} end)
    {%- elif prefix == 'sa-cr' -%}
        (case when regexp_full_match({{ code }}, '7[0-9]{9}') then {{ code }} end)
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown person-id scheme " ~ prefix) }}
    {%- endif -%}
{%- endmacro %}


{% macro sql_person_key(prefix, code, schemes) -%}
    {#- the qualified key: a written scheme is checked as written; a bare code by ``schemes`` in order -#}
    {#- each scheme's check once per value: the first of ``schemes`` whose check passes (null || x is null) -#}
    case
        when {{ prefix }} is not null then case {{ prefix }}
            {%- for known in ['ir-nc', 'ir-nid', 'sa-nid', 'sa-iqama', 'sa-cr'] %}
            when '{{ known }}' then '{{ known }}:' || {{ sql_person_id_canonical(known, code) }}
            {%- endfor %}
        end
        {%- if schemes %}
        else coalesce(
            {%- for scheme in schemes %}
            '{{ scheme }}:' || {{ sql_person_id_canonical(scheme, code) }}{{ ',' if not loop.last }}
            {%- endfor %}
        )
        {%- endif %}
    end
{%- endmacro %}


{% macro sql_person_key_scheme(key) -%}
    {#- the identifier_scheme of a qualified key ("ir-nc:…" -> 'iran_national_code'), null for null -#}
    {#- estelam.core.identifiers.PERSON_ID_SCHEMES: prefix -> name -#}
    {%- set names = {'ir-nc': 'iran_national_code', 'ir-nid': 'iran_legal_id', 'sa-nid': 'saudi_national_id',
                     'sa-iqama': 'saudi_iqama', 'sa-cr': 'saudi_unified_number'} %}
    case split_part({{ key }}, ':', 1)
        {%- for known, name in names.items() %}
        when '{{ known }}' then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}


{% macro sql_local_person_id(key, prefix, code, schemes) -%}
    {#- the id as the hub keeps it (estelam.core.identifiers.local_person_id): bare digits for the deployment's
        schemes, the qualified key for others; an id no scheme accepts stays as written, normalised -#}
    case
        when {{ key }} is null then coalesce({{ prefix }} || ':', '') || {{ code }}
        when split_part({{ key }}, ':', 1) in ({% for s in schemes %}'{{ s }}'{{ ', ' if not loop.last }}{% endfor %})
            then split_part({{ key }}, ':', 2)
        else {{ key }}
    end
{%- endmacro %}
