package survey

import (
	"errors"
	"fmt"
	"math"
)

// Design describes how answers become scores.
type Design struct {
	Items     []string        // e.g. q01..q13
	Lambda    []float64       // item weights for the district score; nil = equal 1/len(Items)
	Points    map[int]float64 // code -> points, e.g. 1:100 2:80 3:60 4:40 5:20; codes not in the map are not valid answers
	Satisfied []int           // codes counted as satisfied for the satisfaction rate (nil = {1,2})
	DontKnow  []int           // codes counted for the don't-know rate (nil = {8,9})
}

func validateDesign(d Design) error {
	if len(d.Items) == 0 {
		return errors.New("survey: design has no items")
	}
	seen := make(map[string]bool, len(d.Items))
	for _, it := range d.Items {
		switch {
		case it == "":
			return errors.New("survey: design has an empty item name")
		case it == CompositeItem:
			return fmt.Errorf("survey: item name %q is reserved for the district score", it)
		case seen[it]:
			return fmt.Errorf("survey: item %q appears twice in the design", it)
		}
		seen[it] = true
	}
	if d.Lambda != nil {
		if len(d.Lambda) != len(d.Items) {
			return fmt.Errorf("survey: design has %d item weights (lambda) for %d items", len(d.Lambda), len(d.Items))
		}
		for j, l := range d.Lambda {
			if !(l > 0) || math.IsInf(l, 0) {
				return fmt.Errorf("survey: item weight (lambda) of %s is %v; it must be a positive finite number", d.Items[j], l)
			}
		}
	}
	if len(d.Points) == 0 {
		return errors.New("survey: design has no code-to-points map")
	}
	for c, v := range d.Points {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("survey: points of code %d are %v; they must be finite", c, v)
		}
	}
	return nil
}

func toSet(codes []int, def []int) map[int]bool {
	if codes == nil {
		codes = def
	}
	s := make(map[int]bool, len(codes))
	for _, c := range codes {
		s[c] = true
	}
	return s
}

type codeInfo struct {
	points              float64
	valid, sat, dontKnw bool
}

// smallCodes are the codes every questionnaire uses, which have a slot of
// their own.
const smallCodes = 16

// codeInfo is what the design makes of an answer code.
func (p *prepared) codeInfo(c int) codeInfo {
	y, ok := p.points[c]
	return codeInfo{points: y, valid: ok && c != 0, sat: p.satisfied[c], dontKnw: p.dontKnow[c]}
}

// slotOtherCodes gives codes outside 0–15 their slots, in the order met,
// and then fills in the rows of the districts that have them.
func (p *prepared) slotOtherCodes(rs []Respondent) error {
	var odd []*stratum
	for _, s := range p.strata {
		if s.odd != nil {
			odd = append(odd, s)
		}
	}
	if len(odd) == 0 {
		return nil
	}
	J := len(p.items)
	other := map[int]uint16{}
	for i := range rs {
		for _, c := range rs[i].Codes {
			if c >= 0 && c < smallCodes {
				continue
			}
			if _, ok := other[c]; ok {
				continue
			}
			if len(p.slots) > math.MaxUint16 {
				return errors.New("survey: more than 65,000 different answer codes")
			}
			other[c] = uint16(len(p.slots))
			p.slots = append(p.slots, p.codeInfo(c))
		}
	}
	for _, s := range odd {
		for m, i := range s.odd {
			row := s.slots[m*J : (m+1)*J]
			for j, c := range rs[i].Codes {
				if c < 0 || c >= smallCodes {
					row[j] = other[c]
				}
			}
		}
		s.odd = nil
	}
	return nil
}
