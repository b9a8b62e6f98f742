package align

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// DefaultBeta is DPO's β when none is given (llm's default too): the strength of the pull
// towards the reference model. `divellm finetune --task dpo` uses it.
const DefaultBeta = 0.1

// DPOLoss is DPO's loss on one pair in plain Go, from the summed answer log-probabilities
// of the policy and of the reference:
//
//	margin = β·[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))]
//	loss   = −log σ(margin) = log(1 + e^(−margin))
//
// computed stably (no overflow for a margin of −1000).
func DPOLoss(beta, policyChosen, policyRejected, refChosen, refRejected float64) (loss, margin float64) {
	margin = beta * ((policyChosen - refChosen) - (policyRejected - refRejected))
	return softplus(-margin), margin
}

// softplus is log(1 + eˣ) without overflow.
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// EncodedPair is a tokenized preference pair and the reference model's log π_ref of each
// answer (filled in by [RefLogProbs]).
type EncodedPair struct {
	Chosen, Rejected       Encoded
	RefChosen, RefRejected float64
}

// EncodePair tokenizes a pair's two lines (prompt + answer + EOS, answer labels).
func EncodePair(tok tokenizer.Tokenizer, p Pair, maxLen int) (EncodedPair, error) {
	if p.Chosen == p.Rejected {
		return EncodedPair{}, fmt.Errorf("the rejected answer equals the chosen one")
	}
	c, err := Encode(tok, p.Prompt, p.Chosen, maxLen)
	if err != nil {
		return EncodedPair{}, fmt.Errorf("chosen: %w", err)
	}
	r, err := Encode(tok, p.Prompt, p.Rejected, maxLen)
	if err != nil {
		return EncodedPair{}, fmt.Errorf("rejected: %w", err)
	}
	return EncodedPair{Chosen: c, Rejected: r}, nil
}

// PairBatch is the DPO TrainBatch of pairs: rows 2i and 2i+1 are pair i's chosen and
// rejected lines, with their reference log-probabilities (llm's DPO objective reads them
// in that order).
func PairBatch(pairs []EncodedPair, padID, limit int) *llm.TrainBatch {
	rows := make([]Encoded, 0, 2*len(pairs))
	ref := make([]float64, 0, 2*len(pairs))
	for _, p := range pairs {
		rows = append(rows, p.Chosen, p.Rejected)
		ref = append(ref, p.RefChosen, p.RefRejected)
	}
	tb := Batch(rows, padID, limit)
	tb.RefLogProbs = ref
	return tb
}

// RefLogProbs fills in every pair's reference log-probabilities with model ref (the
// starting policy, before DPO changes it), batch pairs at a time.
func RefLogProbs(ref *llm.Model, pairs []EncodedPair, batch int) error {
	batch = max(batch, 1)
	for lo := 0; lo < len(pairs); lo += batch {
		hi := min(lo+batch, len(pairs))
		tb := PairBatch(pairs[lo:hi], ref.Config.PadID, ref.Config.MaxPos)
		lp, err := SeqLogProbs(ref, tb)
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			pairs[i].RefChosen, pairs[i].RefRejected = lp[2*(i-lo)], lp[2*(i-lo)+1]
		}
	}
	return nil
}
