{#-
    estelam.warehouse.duckdb_functions.normalise_identifier and identifier_scheme as DuckDB SQL expressions:
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
    {#- translate() deletes the characters of its second argument that have no counterpart in the third -#}
    translate({{ column }}, '{{ _eastern_digits }}'
        {%- for point in _separators %} || chr({{ point }}){% endfor %}, '{{ _latin_digits }}')
{%- endmacro %}


{% macro identifier_digit(code, position) -%}
    (ord(substr({{ code }}, {{ position }}, 1)) - 48)
{%- endmacro %}


{% macro sql_identifier_scheme(code) -%}
    {#- ``code`` is already normalised; the first scheme whose check digit it passes, in the order of
        duckdb_functions.IDENTIFIER_SCHEMES, else null -#}
    case
        when regexp_full_match({{ code }}, '[0-9]{10}')
            and {{ code }} <> repeat(substr({{ code }}, 1, 1), 10)
            and (
                {%- set national -%}
                    ({% for i in range(9) %}{{ identifier_digit(code, i + 1) }} * {{ 10 - i }}{{ ' + ' if not loop.last }}{% endfor %}) % 11
                {%- endset %}
                case when {{ national }} < 2 then {{ national }} else 11 - {{ national }} end
            ) = {{ identifier_digit(code, 10) }}
            then 'iran_national_code'
        when regexp_full_match({{ code }}, '[0-9]{11}')
            and (
                {%- set legal -%}
                    ({% for c in [29, 27, 23, 19, 17, 29, 27, 23, 19, 17] %}({{ identifier_digit(code, 10) }} + 2 + {{ identifier_digit(code, loop.index) }}) * {{ c }}{{ ' + ' if not loop.last }}{% endfor %}) % 11
                {%- endset %}
                case when {{ legal }} = 10 then 0 else {{ legal }} end
            ) = {{ identifier_digit(code, 11) }}
            then 'iran_legal_id'
        when regexp_full_match({{ code }}, '[12][0-9]{9}')
            and (
                {%- for i in range(10) %}
                {%- if i % 2 == 0 %}
                (case when {{ identifier_digit(code, i + 1) }} * 2 > 9 then {{ identifier_digit(code, i + 1) }} * 2 - 9
                      else {{ identifier_digit(code, i + 1) }} * 2 end)
                {%- else %}
                {{ identifier_digit(code, i + 1) }}
                {%- endif %}{{ ' +' if not loop.last }}
                {%- endfor %}
            ) % 10 = 0
            then 'saudi_national_id'
    end
{%- endmacro %}
