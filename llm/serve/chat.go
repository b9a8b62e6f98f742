package serve

import (
	"fmt"
	"strings"
)

// ChatTemplate renders chat messages into the prompt a base (non-chat) model continues.
// Each message becomes one line, "<role name>：<content>\n", and the prompt ends with the
// assistant's name, so the model writes the assistant's turn:
//
//	系统：你是运维助手。
//	用户：磁盘满了怎么办？
//	助手：
//
// Generation of a chat turn also stops where the model starts the next user line
// ([ChatTemplate.Stop]). Roles: "system" (and OpenAI's newer "developer", rendered as
// system), "user", "assistant". The default names are Chinese because the shipped models
// learnt Chinese; every character of them is in gpt-tiny-zh's vocabulary.
type ChatTemplate struct {
	System, User, Assistant string // role names written before each message
	Sep                     string // between a role name and the content
}

// DefaultChatTemplate is the template /v1/chat/completions uses.
var DefaultChatTemplate = ChatTemplate{System: "系统", User: "用户", Assistant: "助手", Sep: "："}

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Render returns the prompt for messages, ending with the assistant's turn.
func (t ChatTemplate) Render(messages []ChatMessage) (string, error) {
	if len(messages) == 0 {
		return "", fmt.Errorf("no messages")
	}
	var b strings.Builder
	for i, m := range messages {
		name, err := t.name(m.Role)
		if err != nil {
			return "", fmt.Errorf("messages[%d]: %w", i, err)
		}
		b.WriteString(name + t.Sep + m.Content + "\n")
	}
	b.WriteString(t.Assistant + t.Sep)
	return b.String(), nil
}

// Stop is the string that ends an assistant turn: the start of the next user line.
func (t ChatTemplate) Stop() string { return "\n" + t.User + t.Sep }

func (t ChatTemplate) name(role string) (string, error) {
	switch role {
	case "system", "developer":
		return t.System, nil
	case "user":
		return t.User, nil
	case "assistant":
		return t.Assistant, nil
	case "tool", "function":
		return "", fmt.Errorf("role %q is not supported: this server has no tools", role)
	}
	return "", fmt.Errorf("unknown role %q (want system, developer, user or assistant)", role)
}
