package survey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// The shape of a questionnaire definition: its syntax, field names and JSON
// kinds, checked before it is decoded so that every such problem is
// reported with its path.

type shapeKind int

const (
	sString shapeKind = iota
	sNumber
	sInt
	sBool
	sObject
	sArray
	sMap   // any keys, values of elem
	sLimit // number or string
	sValue // whole number or string
)

type shape struct {
	kind   shapeKind
	fields map[string]*shape
	elem   *shape
}

var (
	shString = &shape{kind: sString}
	shNumber = &shape{kind: sNumber}
	shInt    = &shape{kind: sInt}
	shBool   = &shape{kind: sBool}
	shLimit  = &shape{kind: sLimit}
	shText   = &shape{kind: sObject, fields: map[string]*shape{"zh": shString, "en": shString}}
	shInts   = &shape{kind: sArray, elem: shInt}
	shCond   = &shape{kind: sObject}
	shDef    = &shape{kind: sObject, fields: map[string]*shape{
		"name": shString, "version": shInt, "title": shText, "introduction": shText, "consent": shText, "closing": shText,
		"points": {kind: sMap, elem: shNumber}, "satisfied": shInts, "dont_know": shInts,
		"questions": {kind: sArray, elem: &shape{kind: sObject, fields: map[string]*shape{
			"id": shString, "section": shString, "type": shString, "text": shText, "note": shText,
			"options":  {kind: sArray, elem: &shape{kind: sObject, fields: map[string]*shape{"code": shInt, "label": shText}}},
			"eligible": shInts, "indicator": shText, "show_if": shCond, "optional": shBool,
			"min": shLimit, "max": shLimit, "decimals": shInt, "max_length": shInt, "exclusive": shInts,
		}}},
	}}
)

func init() {
	conds := &shape{kind: sArray, elem: shCond}
	shCond.fields = map[string]*shape{
		"question": shString, "in": {kind: sArray, elem: &shape{kind: sValue}},
		"min": shLimit, "max": shLimit, "all": conds, "any": conds, "not": shCond,
	}
}

// checkShape finds syntax errors, unknown fields and values of the wrong
// kind, all of them with their paths, before the definition is decoded.
func checkShape(b []byte) []DefinitionProblem {
	var ps problems
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		line, col := lineCol(b, dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col = lineCol(b, se.Offset)
		}
		ps.add("", "第 %[1]d 行第 %[2]d 列：不是有效的 JSON", "line %d, column %d: not valid JSON (%v)", line, col, err)
		return ps
	}
	if _, err := dec.Token(); err == nil {
		ps.add("", "JSON 结束后还有多余的内容", "there is more after the end of the JSON")
		return ps
	}
	if _, ok := v.(map[string]any); !ok {
		ps.add("", "问卷定义须是一个 JSON 对象 {…}", "the definition must be a JSON object {…}")
		return ps
	}
	walkShape(&ps, "", v, shDef, 0)
	return ps
}

func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func walkShape(ps *problems, path string, v any, sh *shape, depth int) {
	if v == nil {
		return // null is the same as leaving the field out
	}
	if depth > 64 {
		ps.add(path, "嵌套太深", "nested too deeply")
		return
	}
	switch sh.kind {
	case sString:
		if _, ok := v.(string); !ok {
			ps.add(path, "应为文字（字符串）", "must be a string")
		}
	case sBool:
		if _, ok := v.(bool); !ok {
			ps.add(path, "应为 true 或 false", "must be true or false")
		}
	case sNumber:
		n, ok := v.(json.Number)
		if f, err := n.Float64(); !ok || err != nil || math.IsInf(f, 0) {
			ps.add(path, "应为数字", "must be a number")
		}
	case sInt:
		n, ok := v.(json.Number)
		if i, err := n.Int64(); !ok || err != nil || i < -1e9 || i > 1e9 {
			ps.add(path, "应为整数", "must be a whole number")
		}
	case sLimit:
		if _, ok := v.(string); ok {
			return
		}
		n, ok := v.(json.Number)
		if f, err := n.Float64(); !ok || err != nil || math.IsInf(f, 0) {
			ps.add(path, "应为数字或日期 \"YYYY-MM-DD\"", "must be a number or a date \"YYYY-MM-DD\"")
		}
	case sValue:
		if _, ok := v.(string); ok {
			return
		}
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			ps.add(path, "应为整数代码或文字", "must be a whole-number code or a string")
		}
	case sArray:
		xs, ok := v.([]any)
		if !ok {
			ps.add(path, "应为列表 […]", "must be a list […]")
			return
		}
		for i, x := range xs {
			walkShape(ps, fmt.Sprintf("%s[%d]", path, i), x, sh.elem, depth+1)
		}
	case sObject, sMap:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(path, "应为对象 {…}", "must be an object {…}")
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if sh.kind == sMap {
				walkShape(ps, fmt.Sprintf("%s[%q]", path, k), m[k], sh.elem, depth+1)
				continue
			}
			f, known := sh.fields[k]
			if !known {
				ps.add(join(path, k), "未知的字段 %q", "unknown field %q", k)
				continue
			}
			walkShape(ps, join(path, k), m[k], f, depth+1)
		}
	}
}
